// Static bearer tokens, as kube-apiserver's --token-auth-file: a CSV file of
// `token,user,uid,"group1,group2"` records (groups optional). Read once at
// start; a changed file needs a restart, as in Kubernetes.

import { readFile } from 'node:fs/promises';
import { GROUP_AUTHENTICATED, type UserInfo } from './user';
import { errorMessage } from '../../util/errors';

export interface TokenFileResult {
  readonly tokens: ReadonlyMap<string, UserInfo>;
  /** Lines worth a log line (empty or duplicate tokens), as Kubernetes warns. */
  readonly warnings: readonly string[];
}

/** Reads and parses a token file; errors name the file and the record. */
export async function loadTokenFile(path: string): Promise<TokenFileResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`--token-auth-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, { cause: err });
  }
  return parseTokenFile(text, path);
}

export function parseTokenFile(text: string, path: string): TokenFileResult {
  const tokens = new Map<string, UserInfo>();
  const warnings: string[] = [];
  let recordNum = 0;
  for (const [lineNo, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const record = parseCsvRecord(line, `${path}:${lineNo + 1}`);
    if (record.length < 3) {
      throw new Error(`token file '${path}' must have at least 3 columns (token, user name, user uid), found ${record.length} on line ${lineNo + 1}`);
    }
    recordNum++;
    const [token = '', name = '', , groups] = record;
    if (token === '') {
      warnings.push(`empty token has been found in token file '${path}', record number '${recordNum}'`);
      continue;
    }
    if (name === '') throw new Error(`token file '${path}': record number '${recordNum}' has an empty user name`);
    if (tokens.has(token)) warnings.push(`duplicate token has been found in token file '${path}', record number '${recordNum}'`);
    const extra = groups === undefined || groups === '' ? [] : groups.split(',');
    tokens.set(token, { name, groups: [...extra.filter((g) => g !== GROUP_AUTHENTICATED), GROUP_AUTHENTICATED] });
  }
  return { tokens, warnings };
}

/** One CSV record (RFC 4180 on one line: fields in double quotes may hold commas, "" is a quote). */
export function parseCsvRecord(line: string, where: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error(`${where}: unterminated quoted field`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i];
        i++;
      }
      if (i < line.length && line[i] !== ',') throw new Error(`${where}: extraneous text after a quoted field`);
    } else {
      const end = line.indexOf(',', i);
      field = line.slice(i, end === -1 ? line.length : end);
      if (field.includes('"')) throw new Error(`${where}: bare " in a non-quoted field`);
      i = end === -1 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}
