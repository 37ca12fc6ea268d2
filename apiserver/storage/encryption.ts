// Encryption at rest, as Kubernetes' EncryptionConfiguration
// (k8s.io/apiserver/pkg/storage/value): a transformer per resource turns the
// bytes the registry stores into the bytes etcd keeps, and back. The
// providers of a resource form Kubernetes' prefix transformer: values are
// written with the first provider and read with the provider whose prefix
// they carry, so a key can be added, rotated or encryption turned on without
// rewriting what is stored. Values are only ever bytes here; the storage layer
// (etcd-store.ts, etcd-source.ts) applies the transformer of a key's resource
// to every value it puts, ranges or watches.
//
// The aesgcm provider's on-disk format is Kubernetes':
//   "k8s:enc:aesgcm:v1:" + key name + ":" + nonce (12 bytes) + ciphertext + tag (16 bytes)
// with the etcd key as the additional authenticated data, so a value copied
// under another key does not decrypt.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { load, CORE_SCHEMA } from 'js-yaml';
import { InternalError } from '../../api/errors';
import { errorMessage } from '../../util/errors';
import { REGISTRY_PREFIX } from './keys';

/** Turns values into their stored form and back; `key` is the etcd key (authenticated, not encrypted). */
export interface ValueTransformer {
  toStorage(value: Buffer, key: string): Buffer;
  /** Throws when no provider can read the value. */
  fromStorage(stored: Buffer, key: string): Buffer;
}

/** Every value of the kinds with no configuration: stored as is. */
export const IDENTITY: ValueTransformer = { toStorage: (v) => v, fromStorage: (v) => v };

/** Kubernetes' marker of an encrypted value; the identity provider refuses to read such a value as plaintext. */
const ENCRYPTED_PREFIX = Buffer.from('k8s:enc:');

const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_KEY_BYTES = new Set([16, 24, 32]);

export interface AesKey {
  readonly name: string;
  /** 16, 24 or 32 bytes (AES-128, -192, -256). */
  readonly secret: Buffer;
}

export type Provider = { readonly type: 'aesgcm'; readonly keys: readonly AesKey[] } | { readonly type: 'identity' };

/** One provider key as the prefix transformer sees it: its prefix and its transformer. */
interface PrefixedTransformer {
  readonly prefix: Buffer;
  readonly transformer: ValueTransformer;
}

function cipherName(secret: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  return secret.length === 16 ? 'aes-128-gcm' : secret.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
}

/** AES-GCM with a random nonce per value: nonce + ciphertext + tag, as Kubernetes' aes.gcm. */
export function aesGcm(secret: Buffer): ValueTransformer {
  if (!AES_KEY_BYTES.has(secret.length)) throw new Error(`an AES key must be 16, 24 or 32 bytes, not ${secret.length}`);
  const algorithm = cipherName(secret);
  return {
    toStorage(value, key) {
      const nonce = randomBytes(GCM_NONCE_BYTES);
      const cipher = createCipheriv(algorithm, secret, nonce, { authTagLength: GCM_TAG_BYTES });
      cipher.setAAD(Buffer.from(key));
      return Buffer.concat([nonce, cipher.update(value), cipher.final(), cipher.getAuthTag()]);
    },
    fromStorage(stored, key) {
      if (stored.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) throw new Error('the encrypted value is too short');
      const nonce = stored.subarray(0, GCM_NONCE_BYTES);
      const tag = stored.subarray(stored.length - GCM_TAG_BYTES);
      const decipher = createDecipheriv(algorithm, secret, nonce, { authTagLength: GCM_TAG_BYTES });
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(stored.subarray(GCM_NONCE_BYTES, stored.length - GCM_TAG_BYTES)), decipher.final()]);
      } catch {
        // Node's message ("Unsupported state or unable to authenticate data") says nothing useful.
        throw new Error('cipher: message authentication failed');
      }
    },
  };
}

/** Plaintext; refuses what another provider encrypted so that the prefix transformer tries the next one. */
const identityProvider: ValueTransformer = {
  toStorage: (v) => v,
  fromStorage(stored) {
    if (stored.subarray(0, ENCRYPTED_PREFIX.length).equals(ENCRYPTED_PREFIX)) throw new Error('identity transformer tried to read encrypted data');
    return stored;
  },
};

function prefixed(providers: readonly Provider[]): PrefixedTransformer[] {
  return providers.flatMap((p): PrefixedTransformer[] =>
    p.type === 'identity'
      ? [{ prefix: Buffer.alloc(0), transformer: identityProvider }]
      : p.keys.map((k) => ({ prefix: Buffer.from(`k8s:enc:aesgcm:v1:${k.name}:`), transformer: aesGcm(k.secret) })),
  );
}

/**
 * Kubernetes' prefix transformer over a resource's providers: writes with the
 * first, reads with the first whose prefix the value has (the identity
 * provider's is empty: it matches anything, but gives way on an encrypted value).
 */
export function providerTransformer(providers: readonly Provider[]): ValueTransformer {
  const all = prefixed(providers);
  const writer = all[0];
  if (writer === undefined) throw new Error('a resource needs at least one provider');
  return {
    toStorage: (value, key) => Buffer.concat([writer.prefix, writer.transformer.toStorage(value, key)]),
    fromStorage(stored, key) {
      for (const t of all) {
        if (!stored.subarray(0, t.prefix.length).equals(t.prefix)) continue;
        try {
          return t.transformer.fromStorage(stored.subarray(t.prefix.length), key);
        } catch (err) {
          if (t.prefix.length === 0) continue;
          throw err;
        }
      }
      throw new Error('no matching prefix found');
    },
  };
}

/**
 * The transformers by resource (the plural of /registry/<plural>/...), and
 * the one API the storage layer uses: a value in, a value out, by etcd key.
 * Failures to read are an InternalError naming the key, as Kubernetes'
 * `unable to transform key "...": ...`; the value itself is never in a message.
 */
export class StorageTransformers {
  private readonly byResource: ReadonlyMap<string, ValueTransformer>;

  constructor(byResource: ReadonlyMap<string, ValueTransformer> = new Map()) {
    this.byResource = byResource;
  }

  /** The resources whose values are transformed (for the start-up log). */
  get resources(): string[] {
    return [...this.byResource.keys()];
  }

  private forKey(key: string): ValueTransformer | undefined {
    if (this.byResource.size === 0 || !key.startsWith(REGISTRY_PREFIX)) return undefined;
    const rest = key.slice(REGISTRY_PREFIX.length);
    const slash = rest.indexOf('/');
    return slash < 0 ? undefined : this.byResource.get(rest.slice(0, slash));
  }

  toStorage(key: string, value: Buffer): Buffer {
    const t = this.forKey(key);
    return t ? t.toStorage(value, key) : value;
  }

  fromStorage(key: string, stored: Buffer): Buffer {
    const t = this.forKey(key);
    if (!t || stored.length === 0) return stored;
    try {
      return t.fromStorage(stored, key);
    } catch (err) {
      throw new InternalError(`unable to transform key "${key}": ${errorMessage(err)}`);
    }
  }
}

export const NO_TRANSFORMERS = new StorageTransformers();

// ---------------------------------------------------------------- the configuration file

export const ENCRYPTION_CONFIG_API_VERSION = 'apiserver.config.k8s.io/v1';
export const ENCRYPTION_CONFIG_KIND = 'EncryptionConfiguration';

const SUPPORTED_PROVIDERS = ['aesgcm', 'identity'];
const KNOWN_PROVIDERS = new Set([...SUPPORTED_PROVIDERS, 'aescbc', 'secretbox', 'kms']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function listAt(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${field}: must be a list`);
  return v;
}

function parseKey(v: unknown, field: string): AesKey {
  if (!isRecord(v)) throw new Error(`${field}: must be an object with name and secret`);
  const name = v['name'];
  const secret = v['secret'];
  if (typeof name !== 'string' || name === '') throw new Error(`${field}.name: Required value`);
  if (name.includes(':')) throw new Error(`${field}.name: Invalid value: "${name}": should not contain ':'`);
  if (typeof secret !== 'string' || secret === '') throw new Error(`${field}.secret: Required value`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || secret.length % 4 !== 0)
    throw new Error(`${field}.secret: Invalid value: REDACTED: secrets must be base64 encoded`);
  const bytes = Buffer.from(secret, 'base64');
  if (!AES_KEY_BYTES.has(bytes.length)) {
    throw new Error(`${field}.secret: Invalid value: REDACTED: secret is not of the expected length, got ${bytes.length}, expected one of [16 24 32]`);
  }
  return { name, secret: bytes };
}

function parseProvider(v: unknown, field: string): Provider {
  if (!isRecord(v)) throw new Error(`${field}: must be an object naming one provider`);
  const types = Object.keys(v);
  if (types.length !== 1) throw new Error(`${field}: Invalid value: exactly one provider type must be set, found ${types.length} (${types.join(', ')})`);
  const type = types[0]!;
  if (!KNOWN_PROVIDERS.has(type)) throw new Error(`${field}: unknown provider "${type}"`);
  if (!SUPPORTED_PROVIDERS.includes(type))
    throw new Error(`${field}.${type}: the ${type} provider is not supported by tsk (supported: ${SUPPORTED_PROVIDERS.join(', ')})`);
  if (type === 'identity') return { type: 'identity' };
  const body = v[type];
  if (!isRecord(body)) throw new Error(`${field}.aesgcm: must be an object with keys`);
  const keys = listAt(body['keys'], `${field}.aesgcm.keys`).map((k, i) => parseKey(k, `${field}.aesgcm.keys[${i}]`));
  if (keys.length === 0) throw new Error(`${field}.aesgcm.keys: Required value: at least one key is required`);
  const names = new Set<string>();
  for (const [i, k] of keys.entries()) {
    if (names.has(k.name)) throw new Error(`${field}.aesgcm.keys[${i}].name: Duplicate value: "${k.name}"`);
    names.add(k.name);
  }
  return { type: 'aesgcm', keys };
}

/**
 * An EncryptionConfiguration (YAML or JSON): the providers of each resource
 * it names. `known` are the resources tsk stores; wildcards are not
 * supported. Errors name the file and the field; key material never appears.
 */
export function parseEncryptionConfig(text: string, file: string, known: ReadonlySet<string>): Map<string, Provider[]> {
  try {
    const doc: unknown = load(text, { schema: CORE_SCHEMA, filename: file });
    if (!isRecord(doc)) throw new Error('must be an EncryptionConfiguration object');
    if (doc['kind'] !== ENCRYPTION_CONFIG_KIND) throw new Error(`kind: must be ${ENCRYPTION_CONFIG_KIND}`);
    if (doc['apiVersion'] !== ENCRYPTION_CONFIG_API_VERSION) throw new Error(`apiVersion: must be ${ENCRYPTION_CONFIG_API_VERSION}`);
    const out = new Map<string, Provider[]>();
    for (const [i, entry] of listAt(doc['resources'], 'resources').entries()) {
      const field = `resources[${i}]`;
      if (!isRecord(entry)) throw new Error(`${field}: must be an object with resources and providers`);
      const resources = listAt(entry['resources'], `${field}.resources`);
      const providers = listAt(entry['providers'], `${field}.providers`).map((p, j) => parseProvider(p, `${field}.providers[${j}]`));
      if (providers.length === 0) throw new Error(`${field}.providers: Required value: at least one provider is required`);
      for (const [j, r] of resources.entries()) {
        // "secrets" and "secrets." (the core group spelled out) mean the same.
        const name = typeof r === 'string' ? r.replace(/\.$/, '') : '';
        if (!known.has(name))
          throw new Error(`${field}.resources[${j}]: Invalid value: ${JSON.stringify(r)}: not a resource tsk stores (wildcards are not supported)`);
        if (out.has(name)) throw new Error(`${field}.resources[${j}]: Duplicate value: "${name}"`);
        out.set(name, providers);
      }
    }
    return out;
  } catch (err) {
    throw new Error(`${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The transformers of a parsed configuration. */
export function transformersOf(config: ReadonlyMap<string, readonly Provider[]>): StorageTransformers {
  const byResource = new Map<string, ValueTransformer>();
  for (const [resource, providers] of config) byResource.set(resource, providerTransformer(providers));
  return new StorageTransformers(byResource);
}

/**
 * The configuration made on a server's first start: Secrets with a new
 * 256-bit aesgcm key, then identity so that Secrets written before
 * encryption was on (an upgraded data dir) still read.
 */
export function defaultEncryptionConfig(random: (n: number) => Buffer = randomBytes): string {
  return [
    `apiVersion: ${ENCRYPTION_CONFIG_API_VERSION}`,
    `kind: ${ENCRYPTION_CONFIG_KIND}`,
    'resources:',
    '  - resources:',
    '      - secrets',
    '    providers:',
    '      - aesgcm:',
    '          keys:',
    '            - name: key1',
    `              secret: ${random(32).toString('base64')}`,
    '      - identity: {}',
    '',
  ].join('\n');
}
