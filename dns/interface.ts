// The cluster DNS address on the node: a dummy interface (tsk-dns) holding
// it as a /32, as NodeLocal DNSCache's nodelocaldns interface does. Pods
// reach it through their default route to the node (the bridge's gateway);
// the node delivers it locally. Ensuring is idempotent (a restart finds the
// interface there and keeps it); removing it is for a clean shutdown.

import { execFile } from 'node:child_process';

export const DNS_INTERFACE = 'tsk-dns';

/** Runs one command; rejects with its stderr. */
export type Run = (argv: readonly string[]) => Promise<void>;

export const execRun: Run = (argv) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    execFile(file ?? 'false', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });

/** Adds the link; "File exists" (a restart) is fine. False when the kernel has no such link type. */
async function addLink(run: Run, name: string, type: 'dummy' | 'bridge'): Promise<boolean> {
  try {
    await run(['ip', 'link', 'add', name, 'type', type]);
  } catch (err) {
    if (/File exists/.test(String(err))) return true;
    if (/Unknown device type/.test(String(err))) return false;
    throw new Error(`cluster DNS: add interface ${name}: ${String(err)}`, { cause: err });
  }
  return true;
}

/**
 * Adds the interface (if missing) with `ip`/32 on it, up. A kernel without
 * the dummy module gets a bridge without ports instead: up, it holds a local
 * address just as well (the pod network needs bridges anyway).
 */
export async function ensureDnsInterface(ip: string, run: Run = execRun, name = DNS_INTERFACE): Promise<void> {
  if (!(await addLink(run, name, 'dummy')) && !(await addLink(run, name, 'bridge'))) {
    throw new Error(`cluster DNS: add interface ${name}: the kernel knows neither dummy nor bridge links`);
  }
  // replace: the same address again is no error, at restart or in a race.
  await run(['ip', 'addr', 'replace', `${ip}/32`, 'dev', name]);
  await run(['ip', 'link', 'set', name, 'up']);
}

/** Removes the interface and its address; gone already is fine. */
export async function removeDnsInterface(run: Run = execRun, name = DNS_INTERFACE): Promise<void> {
  try {
    await run(['ip', 'link', 'del', name]);
  } catch (err) {
    if (!/Cannot find device|does not exist/.test(String(err))) throw err;
  }
}
