// The encryption configuration on disk: --encryption-provider-config FILE
// (Kubernetes' flag), or by default <data-dir>/encryption-config.yaml, made
// with a new key on the server's first start (0600, as k3s keeps its
// encryption config beside its other credentials). The key must outlive the
// data: losing the file makes every stored Secret unreadable.

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KINDS, KIND_NAMES } from '../../api/kinds';
import { errnoCode, errorMessage } from '../../util/errors';
import { defaultEncryptionConfig, parseEncryptionConfig, transformersOf, type StorageTransformers } from './encryption';

export const DEFAULT_ENCRYPTION_CONFIG_FILE = 'encryption-config.yaml';

/** The default configuration file of a data dir. */
export function defaultEncryptionConfigPath(dataDir: string): string {
  return join(dataDir, DEFAULT_ENCRYPTION_CONFIG_FILE);
}

const KNOWN_RESOURCES: ReadonlySet<string> = new Set(KIND_NAMES.map((k) => KINDS[k].plural));

async function readConfig(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new Error(`${file}: cannot read the encryption configuration: ${errorMessage(err)}`, { cause: err });
  }
}

/** Writes a file only its owner can read, atomically (a crash leaves no half key). */
async function writePrivate(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** Reads an explicit --encryption-provider-config; a missing file is an error naming the flag. */
export async function loadEncryptionConfig(file: string): Promise<StorageTransformers> {
  const text = await readConfig(file);
  if (text === undefined) throw new Error(`--encryption-provider-config: ${file} does not exist`);
  return transformersOf(parseEncryptionConfig(text, file, KNOWN_RESOURCES));
}

/** The data dir's configuration, made with a new aesgcm key for Secrets when absent. */
export async function ensureDefaultEncryptionConfig(file: string, log: (msg: string) => void): Promise<StorageTransformers> {
  let text = await readConfig(file);
  if (text === undefined) {
    text = defaultEncryptionConfig();
    await writePrivate(file, text);
    log(`created ${file}: Secrets are encrypted in etcd with a new AES-GCM key (keep this file: without it they cannot be read)`);
  }
  return transformersOf(parseEncryptionConfig(text, file, KNOWN_RESOURCES));
}
