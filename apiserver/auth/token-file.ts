// Static bearer tokens, as kube-apiserver's --token-auth-file (the file's
// format: util/token-file.ts). Read once at start; a changed file needs a
// restart, as in Kubernetes.

import { GROUP_AUTHENTICATED, type UserInfo } from './user';
import { parseTokenRecords, readTokenFile, type TokenRecords } from '../../util/token-file';

export { parseCsvRecord } from '../../util/token-file';

export interface TokenFileResult {
  readonly tokens: ReadonlyMap<string, UserInfo>;
  /** Lines worth a log line (empty or duplicate tokens), as Kubernetes warns. */
  readonly warnings: readonly string[];
}

/** Reads and parses a token file; errors name the file and the record. */
export async function loadTokenFile(path: string): Promise<TokenFileResult> {
  return users(await readTokenFile(path));
}

export function parseTokenFile(text: string, path: string): TokenFileResult {
  return users(parseTokenRecords(text, path));
}

/** The users the tokens stand for; a later record of a token wins, as Kubernetes'. */
function users({ records, warnings }: TokenRecords): TokenFileResult {
  const tokens = new Map<string, UserInfo>();
  for (const r of records) tokens.set(r.token, { name: r.user, groups: [...r.groups.filter((g) => g !== GROUP_AUTHENTICATED), GROUP_AUTHENTICATED] });
  return { tokens, warnings };
}
