// What the user types for a kind, and the messages for a kind tsctl does not know.

import { KINDS, KIND_NAMES, resolveKind, type KindName } from '../api/kinds';
import { CliError } from './errors';

/** "pods (po), replicationcontrollers (rc), ...": the list an unknown kind error shows. */
export function knownTypes(): string {
  return KIND_NAMES.map((k) => (KINDS[k].shortNames.length > 0 ? `${KINDS[k].plural} (${KINDS[k].shortNames.join(', ')})` : KINDS[k].plural)).join(', ');
}

/** Resolves a kind typed on the command line, or fails listing the known ones. */
export function kindArg(name: string): KindName {
  const kind = resolveKind(name);
  if (!kind) throw new CliError(`the server doesn't have a resource type "${name}"; known types: ${knownTypes()}`);
  return kind;
}

/** kubectl's lowercase resource name for output: pod/web, replicationcontroller/web. */
export function resourceName(kind: KindName, name: string): string {
  return `${KINDS[kind].singular}/${name}`;
}
