// The data of `tsctl create configmap|secret` from kubectl's three sources:
// --from-literal=KEY=VALUE, --from-file=[KEY=]PATH (a file, or every regular
// file of a directory under its own name) and --from-env-file=PATH (KEY=VALUE
// lines). Every key must be a valid file name and may come only once; any
// problem is an error naming the flag, found before anything is sent. Also
// the .dockerconfigjson of `create secret docker-registry`, as kubectl
// builds it.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { configKeyErrors } from '../api/config-keys';
import { errnoCode, errorMessage } from '../util/errors';
import { CliError } from './errors';

export interface DataSources {
  readonly literals: readonly string[];
  readonly files: readonly string[];
  readonly envFiles: readonly string[];
}

/** The file system as the sources read it (a fake in tests). */
export interface SourceFiles {
  /** The entries of a directory, or undefined when `path` is a regular file; throws when it is missing. */
  listIfDirectory(path: string): string[] | undefined;
  isRegularFile(path: string): boolean;
  read(path: string): Buffer;
}

export const NODE_FILES: SourceFiles = {
  listIfDirectory: (path) => (statSync(path).isDirectory() ? readdirSync(path).sort() : undefined),
  isRegularFile: (path) => statSync(path).isFile(),
  read: (path) => readFileSync(path),
};

/** "no such file or directory" rather than "ENOENT: no such file or directory, stat '...'". */
function fileProblem(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return errorMessage(err);
}

type What = 'ConfigMap' | 'Secret';

class DataBuilder {
  readonly data = new Map<string, Buffer>();
  constructor(private readonly what: What) {}

  /** kubectl's addKeyFromLiteralToConfigMap / Secret: a valid key, once. */
  add(flag: string, key: string, value: Buffer): void {
    const errs = configKeyErrors(key);
    if (errs.length > 0) throw new CliError(`${flag}: "${key}" is not a valid key name for a ${this.what}: ${errs.join('; ')}`);
    if (this.data.has(key)) throw new CliError(`${flag}: cannot add key "${key}", another key by that name already exists in the data of the ${this.what}`);
    this.data.set(key, value);
  }
}

function addLiteral(b: DataBuilder, source: string): void {
  const eq = source.indexOf('=');
  // kubectl: "invalid literal source %v, expected key=value"
  if (eq <= 0) throw new CliError(`--from-literal: invalid literal source "${source}", expected key=value`);
  b.add('--from-literal', source.slice(0, eq), Buffer.from(source.slice(eq + 1), 'utf8'));
}

function readSource(flag: string, files: SourceFiles, path: string): Buffer {
  try {
    return files.read(path);
  } catch (err) {
    throw new CliError(`${flag}: error reading ${path}: ${fileProblem(err)}`);
  }
}

function addFile(b: DataBuilder, files: SourceFiles, source: string): void {
  const eq = source.indexOf('=');
  const key = eq >= 0 ? source.slice(0, eq) : undefined;
  const path = eq >= 0 ? source.slice(eq + 1) : source;
  if (key === '' || path === '') throw new CliError(`--from-file: "${source}" must be [key=]path, with a key and a path`);
  let entries: string[] | undefined;
  try {
    entries = files.listIfDirectory(path);
  } catch (err) {
    throw new CliError(`--from-file: error reading ${path}: ${fileProblem(err)}`);
  }
  if (entries === undefined) return b.add('--from-file', key ?? basename(path), readSource('--from-file', files, path));
  if (key !== undefined) throw new CliError(`--from-file: cannot give a key for the directory ${path}: its files are added under their own names`);
  // A directory: each regular file under its own name, subdirectories skipped (as kubectl).
  for (const name of entries) {
    const file = join(path, name);
    if (files.isRegularFile(file)) b.add('--from-file', name, readSource('--from-file', files, file));
  }
}

/** Docker's env-file lines, as kubectl reads them: KEY=VALUE, # comments and blank lines skipped. */
function addEnvFile(b: DataBuilder, files: SourceFiles, path: string): void {
  const text = readSource('--from-env-file', files, path)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new CliError(`--from-env-file: ${path}:${i + 1}: "${line}" is not KEY=VALUE`);
    b.add(`--from-env-file ${path}:${i + 1}`, line.slice(0, eq), Buffer.from(line.slice(eq + 1), 'utf8'));
  });
}

/** The data of a ConfigMap or Secret from the sources, in the order given: literals, files, env files. */
export function collectData(sources: DataSources, what: What, files: SourceFiles = NODE_FILES): Map<string, Buffer> {
  const b = new DataBuilder(what);
  for (const l of sources.literals) addLiteral(b, l);
  for (const f of sources.files) addFile(b, files, f);
  for (const e of sources.envFiles) addEnvFile(b, files, e);
  return b.data;
}

/** ConfigMap data: UTF-8 text in data, anything else in binaryData (as kubectl decides). */
export function splitText(data: ReadonlyMap<string, Buffer>): { data: Record<string, string>; binaryData: Record<string, Buffer> } {
  const text: Record<string, string> = {};
  const binary: Record<string, Buffer> = {};
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const [k, v] of data) {
    try {
      text[k] = decoder.decode(v);
    } catch {
      binary[k] = v;
    }
  }
  return { data: text, binaryData: binary };
}

/** kubectl's default --docker-server. */
export const DEFAULT_DOCKER_SERVER = 'https://index.docker.io/v1/';

export interface DockerRegistryAuth {
  readonly server: string;
  readonly username: string;
  readonly password: string;
  readonly email?: string | undefined;
}

/**
 * kubectl's handleDockerCfgJSONContent: {"auths":{SERVER:{"username",
 * "password","email" (when given),"auth": base64(username:password)}}}, the
 * fields in that order and empty ones left out (Go's omitempty).
 */
export function dockerConfigJson(a: DockerRegistryAuth): string {
  const entry: Record<string, string> = {};
  if (a.username) entry['username'] = a.username;
  if (a.password) entry['password'] = a.password;
  if (a.email) entry['email'] = a.email;
  entry['auth'] = Buffer.from(`${a.username}:${a.password}`).toString('base64');
  return JSON.stringify({ auths: { [a.server]: entry } });
}
