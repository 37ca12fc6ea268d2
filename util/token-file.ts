// Static bearer token files, kube-apiserver's --token-auth-file format: a CSV
// of `token,user,uid,"group1,group2"` records (groups optional). The API
// server authenticates with them (apiserver/auth/token-file.ts); `tsk
// hollow-nodes --node-token-file` gives each hollow node its token from the
// same file.

import { readFile } from 'node:fs/promises';
import { errorMessage } from './errors';

export interface TokenRecord {
  readonly token: string;
  readonly user: string;
  readonly uid: string;
  readonly groups: readonly string[];
}

export interface TokenRecords {
  readonly records: readonly TokenRecord[];
  /** Lines worth a log line (empty or duplicate tokens), as Kubernetes warns. */
  readonly warnings: readonly string[];
}

/** Reads and parses a token file; errors name the file and the record. */
export async function readTokenFile(path: string): Promise<TokenRecords> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`--token-auth-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, { cause: err });
  }
  return parseTokenRecords(text, path);
}

export function parseTokenRecords(text: string, path: string): TokenRecords {
  const records: TokenRecord[] = [];
  const seen = new Set<string>();
  const warnings: string[] = [];
  let recordNum = 0;
  for (const [lineNo, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const record = parseCsvRecord(line, `${path}:${lineNo + 1}`);
    if (record.length < 3) {
      throw new Error(`token file '${path}' must have at least 3 columns (token, user name, user uid), found ${record.length} on line ${lineNo + 1}`);
    }
    recordNum++;
    const [token = '', user = '', uid = '', groups] = record;
    if (token === '') {
      warnings.push(`empty token has been found in token file '${path}', record number '${recordNum}'`);
      continue;
    }
    if (user === '') throw new Error(`token file '${path}': record number '${recordNum}' has an empty user name`);
    if (seen.has(token)) warnings.push(`duplicate token has been found in token file '${path}', record number '${recordNum}'`);
    seen.add(token);
    records.push({ token, user, uid, groups: groups === undefined || groups === '' ? [] : groups.split(',') });
  }
  return { records, warnings };
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
