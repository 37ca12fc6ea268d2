// The sandbox's sysctls file (DIR/sysctls), read by tsk-sandbox from inside
// the new namespaces: one "PATH VALUE" line each, PATH relative to /proc/sys.

/**
 * A sysctl name as its path under /proc/sys. Names come in dot form
 * (net.ipv4.ip_local_port_range) or slash form (net/ipv4/ip_local_port_range,
 * needed when a component holds a dot, as in an interface name "eth0.100");
 * as in Kubernetes' NormalizeName, the first separator tells which.
 * Throws Error naming the sysctl when it cannot be a /proc/sys path.
 */
export function sysctlPath(name: string): string {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  const path = slash >= 0 && (dot < 0 || slash < dot) ? name : name.replace(/\./g, '/');
  const parts = path.split('/');
  if (!/^[A-Za-z0-9_./-]+$/.test(name) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`sysctl "${name}" is not a valid sysctl name`);
  }
  return path;
}

/** The file's text; throws Error naming the sysctl whose name or value cannot be written. */
export function sysctlsFile(sysctls: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [name, value] of Object.entries(sysctls)) {
    if (/[\n\0]/.test(value) || value.trim() === '') throw new Error(`sysctl "${name}": value ${JSON.stringify(value)} is empty or holds a newline`);
    out += `${sysctlPath(name)} ${value}\n`;
  }
  return out;
}
