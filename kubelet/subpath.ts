// The path inside a volume that a volumeMount binds (Kubernetes' makeMounts):
// subPath as written, or subPathExpr with $(VAR) references expanded from the
// container's environment (kubecontainer.ExpandContainerVolumeMounts). Only
// the text is checked here (relative, no ".."); that the path does not leave
// the volume through symlinks is checked where it cannot race, by the runtime
// at mount time (Mount.subPath).

import type { VolumeMount } from '../api/gen/tsk/v1/core';

/**
 * Expands subPathExpr as Kubernetes does: $(VAR) from vars, $$ is a literal
 * $, other text is kept. A reference to a variable that is undefined or empty
 * is an error naming every such variable ("missing value for A, B").
 */
export function expandSubPathExpr(expr: string, vars: ReadonlyMap<string, string>): string {
  const missing = new Set<string>();
  const out = expr.replace(/\$\$|\$\(([^)]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    const v = vars.get(name ?? '') ?? '';
    if (v === '') missing.add(name ?? '');
    return v;
  });
  if (missing.size > 0) throw new Error(`missing value for ${[...missing].sort().join(', ')}`);
  return out;
}

/**
 * The subPath of a mount ("" for the whole volume). Throws with Kubernetes'
 * messages when subPathExpr cannot be expanded or the path is absolute or
 * steps out with "..".
 */
export function mountSubPath(vm: VolumeMount, vars: ReadonlyMap<string, string>): string {
  const sub = vm.subPathExpr ? expandSubPathExpr(vm.subPathExpr, vars) : (vm.subPath ?? '');
  if (sub === '') return '';
  if (sub.startsWith('/')) throw new Error(`error SubPath \`${sub}\` must not be an absolute path`);
  if (sub.split('/').includes('..')) throw new Error(`unable to provision SubPath \`${sub}\`: must not contain '..'`);
  return sub;
}
