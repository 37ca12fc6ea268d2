// OCI and Docker v2 schema 2 manifests, indexes (manifest lists) and image
// configs: parsing with validation, and platform selection. Pure functions.

import { isSha256Digest } from './digest';
import { InvalidManifestError } from './errors';
import type { ImageConfig } from './types';
import { errorMessage } from '../../../util/errors';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What we ask a registry for, best first. */
export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.dockerList, MediaTypes.ociManifest, MediaTypes.dockerManifest].join(', ');

const LAYER_TYPES = new Set<string>([
  MediaTypes.ociLayer,
  MediaTypes.ociLayerGzip,
  MediaTypes.ociLayerZstd,
  MediaTypes.dockerLayerGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export interface ParsedConfig {
  config: ImageConfig;
  diffIds: string[];
  created: string;
  os: string;
  architecture: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(body: Buffer | string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(body.toString());
  } catch (e) {
    throw new InvalidManifestError(what, `not JSON (${errorMessage(e)})`);
  }
  if (!isObject(v)) throw new InvalidManifestError(what, 'not a JSON object');
  return v;
}

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new InvalidManifestError(what, 'expected an object of strings');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new InvalidManifestError(what, `value of "${k}" is not a string`);
    out[k] = val;
  }
  return out;
}

function stringArray(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new InvalidManifestError(what, 'expected an array of strings');
  return v as string[];
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw new InvalidManifestError(what, 'descriptor is not an object');
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string') throw new InvalidManifestError(what, 'descriptor has no mediaType');
  if (!isSha256Digest(digest)) throw new InvalidManifestError(what, `descriptor digest "${String(digest)}" is not a sha256 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new InvalidManifestError(what, `descriptor ${digest} has an invalid size`);
  const d: Descriptor = { mediaType, digest, size };
  if (isObject(v['platform'])) {
    const p = v['platform'];
    if (typeof p['os'] === 'string' && typeof p['architecture'] === 'string') {
      d.platform = { os: p['os'], architecture: p['architecture'], ...(typeof p['variant'] === 'string' ? { variant: p['variant'] } : {}) };
    }
  }
  if (v['annotations'] !== undefined) d.annotations = stringMap(v['annotations'], `${what} annotations`);
  if (v['urls'] !== undefined) d.urls = stringArray(v['urls'], `${what} urls`);
  return d;
}

/**
 * Parses a manifest or an index. The media type comes from the body, else
 * from the HTTP Content-Type, else from its shape (OCI allows it to be absent).
 */
export function parseManifestOrIndex(body: Buffer | string, contentType = '', what = 'manifest'): ImageManifest | ImageIndex {
  const j = parseJson(body, what);
  if (j['schemaVersion'] === 1)
    throw new InvalidManifestError(what, 'Docker schema 1 manifests are not supported (deprecated); push the image again with a current client');
  if (j['schemaVersion'] !== 2) throw new InvalidManifestError(what, `unsupported schemaVersion ${String(j['schemaVersion'])}`);
  const ct = contentType.split(';')[0]?.trim() ?? '';
  let mediaType = typeof j['mediaType'] === 'string' ? j['mediaType'] : ct;
  if (mediaType === '' || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
    mediaType = Array.isArray(j['manifests']) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  }
  if (mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerList) {
    if (!Array.isArray(j['manifests'])) throw new InvalidManifestError(what, 'index has no "manifests" array');
    return { kind: 'index', mediaType, manifests: j['manifests'].map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`)) };
  }
  if (mediaType === MediaTypes.ociManifest || mediaType === MediaTypes.dockerManifest) {
    const config = parseDescriptor(j['config'], `${what} config`);
    // An OCI artifact (Helm chart, ORAS files, ...) is a manifest whose config is not an image config.
    if (config.mediaType !== MediaTypes.ociConfig && config.mediaType !== MediaTypes.dockerConfig) {
      throw new InvalidManifestError(
        what,
        `an OCI artifact (config media type "${config.mediaType}"), not a container image: tsk unpacks, runs and mounts container images only`,
      );
    }
    if (!Array.isArray(j['layers'])) throw new InvalidManifestError(what, 'manifest has no "layers" array');
    const layers = j['layers'].map((l, i) => parseDescriptor(l, `${what} layers[${i}]`));
    for (const l of layers) {
      if (!LAYER_TYPES.has(l.mediaType)) throw new InvalidManifestError(what, `layer ${l.digest} has unsupported media type "${l.mediaType}"`);
    }
    return { kind: 'manifest', mediaType, config, layers };
  }
  throw new InvalidManifestError(what, `unsupported media type "${mediaType}"`);
}

function platformString(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * Picks the entry of an index for `want` (linux/amd64 by default). An entry
 * without a variant matches any wanted variant; attestation entries
 * ("unknown/unknown") never match.
 */
export function selectManifest(index: ImageIndex, want: Platform = DEFAULT_PLATFORM, what = 'index'): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      m.platform !== undefined &&
      m.platform.os === want.os &&
      m.platform.architecture === want.architecture &&
      (want.variant === undefined || m.platform.variant === undefined || m.platform.variant === want.variant),
  );
  const exact = candidates.find((m) => m.platform?.variant === want.variant);
  const chosen = exact ?? candidates[0];
  if (chosen) return chosen;
  // An index without platforms at all (some OCI layouts) with a single image: take it.
  const images = index.manifests.filter((m) => m.platform === undefined);
  if (images.length === 1 && images[0] && images.length === index.manifests.length) return images[0];
  const have = index.manifests.map((m) => platformString(m.platform)).join(', ') || 'none';
  throw new InvalidManifestError(what, `no manifest for ${platformString(want)} (available: ${have})`);
}

/** Parses an image config blob into what a container needs plus the layer diff-ids. */
export function parseImageConfig(body: Buffer | string, what = 'image config'): ParsedConfig {
  const j = parseJson(body, what);
  const c = isObject(j['config']) ? j['config'] : {};
  const rootfs = j['rootfs'];
  if (!isObject(rootfs) || rootfs['type'] !== 'layers') throw new InvalidManifestError(what, 'rootfs.type is not "layers"');
  const diffIds = stringArray(rootfs['diff_ids'], `${what} rootfs.diff_ids`);
  for (const d of diffIds) if (!isSha256Digest(d)) throw new InvalidManifestError(what, `diff_id "${d}" is not a sha256 digest`);
  const str = (v: unknown, field: string): string => {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new InvalidManifestError(what, `config.${field} is not a string`);
    return v;
  };
  const ports = c['ExposedPorts'];
  if (ports !== undefined && ports !== null && !isObject(ports)) throw new InvalidManifestError(what, 'config.ExposedPorts is not an object');
  return {
    config: {
      entrypoint: stringArray(c['Entrypoint'], `${what} config.Entrypoint`),
      cmd: stringArray(c['Cmd'], `${what} config.Cmd`),
      env: stringArray(c['Env'], `${what} config.Env`),
      workingDir: str(c['WorkingDir'], 'WorkingDir'),
      user: str(c['User'], 'User'),
      exposedPorts: isObject(ports) ? Object.keys(ports).sort() : [],
      labels: stringMap(c['Labels'], `${what} config.Labels`),
    },
    diffIds,
    created: typeof j['created'] === 'string' ? j['created'] : '',
    os: typeof j['os'] === 'string' ? j['os'] : '',
    architecture: typeof j['architecture'] === 'string' ? j['architecture'] : '',
  };
}
