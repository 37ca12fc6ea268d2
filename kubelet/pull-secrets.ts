// imagePullSecrets (Kubernetes' credentialprovider keyring over a pod's
// dockerconfigjson / dockercfg Secrets): the credentials a Secret holds for
// the registry of an image. Keys of `auths` are registry hosts, optionally
// with a scheme and a path ("https://index.docker.io/v1/",
// "registry.example:5000", "registry.example/team"); an entry carries `auth`
// (base64 "user:password") or `username` and `password`.

import { DOCKER_CONFIG_JSON_KEY, SECRET_TYPE_DOCKER_CONFIG_JSON } from '../api/secret-types';
import type { Secret } from '../api/gen/tsk/v1/core';
import type { Credentials } from './runtime/image/registry-client';
import { parseReference } from './runtime/image/reference';

export const SECRET_TYPE_DOCKERCFG = 'kubernetes.io/dockercfg';

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** host[:port] and path prefix of an `auths` key. */
function parseKey(key: string): { host: string; path: string } {
  const rest = key.replace(/^[a-z]+:\/\//i, '');
  const slash = rest.indexOf('/');
  let host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  let p = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (DOCKER_HUB.has(host)) {
    host = 'docker.io';
    // Docker's own key for the Hub is https://index.docker.io/v1/: the API version is not a repository path.
    if (/^v[12]$/.test(p)) p = '';
  }
  return { host, path: p };
}

function credentialsOf(e: AuthEntry): Credentials | undefined {
  if (typeof e.username === 'string' && typeof e.password === 'string' && e.username !== '') return { username: e.username, password: e.password };
  if (typeof e.auth !== 'string' || e.auth === '') return undefined;
  const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The `auths` map of a pull Secret; undefined when it is of another type or not parseable. */
function authsOf(secret: Secret): Record<string, AuthEntry> | undefined {
  let raw: Buffer | undefined;
  let wrapped: boolean;
  if (secret.type === SECRET_TYPE_DOCKER_CONFIG_JSON) {
    raw = secret.data?.[DOCKER_CONFIG_JSON_KEY];
    wrapped = true;
  } else if (secret.type === SECRET_TYPE_DOCKERCFG) {
    raw = secret.data?.['.dockercfg'];
    wrapped = false;
  } else {
    return undefined;
  }
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    return undefined;
  }
  const auths = wrapped ? (parsed as { auths?: unknown } | null)?.auths : parsed;
  return auths !== null && typeof auths === 'object' ? (auths as Record<string, AuthEntry>) : undefined;
}

/**
 * The credentials of the Secrets for `image`'s registry, most specific path
 * first, in the order of the Secrets: the kubelet tries each in turn, as
 * Kubernetes does. Empty when none matches (the pull goes anonymous).
 */
export function pullCredentials(secrets: readonly Secret[], image: string): Credentials[] {
  let ref;
  try {
    ref = parseReference(image);
  } catch {
    return [];
  }
  const host = ref.domain.toLowerCase();
  const matches: { creds: Credentials; specificity: number; order: number }[] = [];
  for (const secret of secrets) {
    for (const [key, entry] of Object.entries(authsOf(secret) ?? {})) {
      const k = parseKey(key);
      if (k.host !== host) continue;
      if (k.path !== '' && ref.path !== k.path && !ref.path.startsWith(`${k.path}/`)) continue;
      const creds = credentialsOf(entry);
      if (creds) matches.push({ creds, specificity: k.path.length, order: matches.length });
    }
  }
  matches.sort((a, b) => b.specificity - a.specificity || a.order - b.order);
  return matches.map((m) => m.creds);
}
