// Image references parsed and normalized as Docker does
// (github.com/distribution/reference): "busybox" is
// docker.io/library/busybox:latest; the first path component is a registry
// host only when it contains "." or ":" or is "localhost".

import { InvalidReferenceError } from './errors';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]{32,})$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;

/** A parsed, fully qualified reference. Immutable. */
export interface Reference {
  /** Registry host with optional port, e.g. "docker.io", "127.0.0.1:5000". */
  readonly domain: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  readonly path: string;
  /** Tag; "latest" when neither a tag nor a digest was given. */
  readonly tag?: string;
  /** "sha256:<64 hex>" when the reference pins a manifest. */
  readonly digest?: string;
}

/** Parses and normalizes a reference; throws InvalidReferenceError naming what is wrong. */
export function parseReference(input: string): Reference {
  if (input === '') throw new InvalidReferenceError(input, 'empty reference');
  if (input.trim() !== input) throw new InvalidReferenceError(input, 'leading or trailing whitespace');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    validateDigest(input, digest);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(input, `invalid tag "${tag}"`);
  }
  const { domain, path } = splitDomain(input, rest);
  if (domain.length + 1 + path.length > NAME_TOTAL_MAX) {
    throw new InvalidReferenceError(input, `repository name longer than ${NAME_TOTAL_MAX} characters`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function validateDigest(input: string, digest: string): void {
  const m = DIGEST.exec(digest);
  if (!m) throw new InvalidReferenceError(input, `invalid digest "${digest}"`);
  if (m[1] !== 'sha256') throw new InvalidReferenceError(input, `unsupported digest algorithm "${m[1] ?? ''}" (only sha256)`);
  if (!SHA256_HEX.test(m[2] ?? '')) {
    throw new InvalidReferenceError(input, `sha256 digest must be 64 lowercase hex characters, got "${m[2] ?? ''}"`);
  }
}

function splitDomain(input: string, name: string): { domain: string; path: string } {
  if (name === '') throw new InvalidReferenceError(input, 'missing repository name');
  let domain = DEFAULT_DOMAIN;
  let path = name;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = name.slice(slash + 1);
      validateDomain(input, domain);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  if (path !== path.toLowerCase()) throw new InvalidReferenceError(input, 'repository name must be lowercase');
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new InvalidReferenceError(input, `invalid repository path component "${component}"`);
    }
  }
  return { domain, path };
}

function validateDomain(input: string, domain: string): void {
  let host = domain;
  const portSep = domain.lastIndexOf(':');
  if (portSep >= 0 && !domain.endsWith(']')) {
    const port = domain.slice(portSep + 1);
    host = domain.slice(0, portSep);
    if (!PORT.test(port) || Number(port) > 65535) throw new InvalidReferenceError(input, `invalid registry port "${port}"`);
  }
  if (IPV6_HOST.test(host)) return;
  if (host === '' || !host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) {
    throw new InvalidReferenceError(input, `invalid registry host "${host}"`);
  }
}

/** "docker.io/library/busybox" */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical string: "docker.io/library/busybox:latest", "host:5000/a/b@sha256:..." . */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Shortest form a Docker user types: "busybox", "user/app", "127.0.0.1:5000/app". */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** Normalizes a reference string; throws InvalidReferenceError. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}
