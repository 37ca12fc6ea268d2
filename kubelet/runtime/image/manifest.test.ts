import test from 'ava';
import { InvalidManifestError } from './errors';
import { ImageIndex, MediaTypes, parseImageConfig, parseManifestOrIndex, selectManifest } from './manifest';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

const manifest = {
  schemaVersion: 2,
  mediaType: MediaTypes.dockerManifest,
  config: { mediaType: MediaTypes.dockerConfig, digest: d('c'), size: 10 },
  layers: [{ mediaType: MediaTypes.dockerLayerGzip, digest: d('1'), size: 100 }],
};

test('parses a Docker schema 2 manifest', (t) => {
  const m = parseManifestOrIndex(JSON.stringify(manifest));
  t.is(m.kind, 'manifest');
  if (m.kind !== 'manifest') return;
  t.is(m.config.digest, d('c'));
  t.deepEqual(
    m.layers.map((l) => l.digest),
    [d('1')],
  );
});

test('media type from Content-Type or shape when the body has none', (t) => {
  const { mediaType: _, ...bare } = manifest;
  t.is(parseManifestOrIndex(JSON.stringify(bare), `${MediaTypes.ociManifest}; charset=utf-8`).mediaType, MediaTypes.ociManifest);
  t.is(parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, manifests: [] })).kind, 'index');
});

test('rejects schema 1, bad digests, unknown layer types', (t) => {
  t.throws(() => parseManifestOrIndex(JSON.stringify({ schemaVersion: 1 })), { instanceOf: InvalidManifestError, message: /schema 1/ });
  t.throws(() => parseManifestOrIndex('{'), { message: /not JSON/ });
  t.throws(() => parseManifestOrIndex(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: 'sha256:zz' } })), {
    message: /not a sha256 digest/,
  });
  t.throws(() => parseManifestOrIndex(JSON.stringify({ ...manifest, layers: [{ mediaType: 'text/plain', digest: d('1'), size: 1 }] })), {
    message: /unsupported media type "text\/plain"/,
  });
  t.throws(() => parseManifestOrIndex(JSON.stringify({ ...manifest, mediaType: 'application/x-foo' })), { message: /unsupported media type/ });
});

const index: ImageIndex = {
  kind: 'index',
  mediaType: MediaTypes.ociIndex,
  manifests: [
    { mediaType: MediaTypes.ociManifest, digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: MediaTypes.ociManifest, digest: d('b'), size: 1, platform: { os: 'windows', architecture: 'amd64' } },
    { mediaType: MediaTypes.ociManifest, digest: d('e'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    { mediaType: MediaTypes.ociManifest, digest: d('f'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
  ],
};

test('selects linux/amd64 from an index', (t) => {
  t.is(selectManifest(index).digest, d('f'));
  t.is(selectManifest(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest, d('a'));
});

test('no linux/amd64 entry: clear error listing what there is', (t) => {
  const only = { ...index, manifests: index.manifests.slice(0, 2) };
  t.throws(() => selectManifest(only), { message: /no manifest for linux\/amd64 \(available: linux\/arm64\/v8, windows\/amd64\)/ });
});

test('a platform-less single-entry index is taken', (t) => {
  const one = { ...index, manifests: [{ mediaType: MediaTypes.ociManifest, digest: d('9'), size: 1 }] };
  t.is(selectManifest(one).digest, d('9'));
});

test('parses image configs', (t) => {
  const c = parseImageConfig(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      os: 'linux',
      architecture: 'amd64',
      config: {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: null,
        Env: ['A=1'],
        WorkingDir: '/w',
        User: '1000:1000',
        ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
        Labels: { k: 'v' },
      },
      rootfs: { type: 'layers', diff_ids: [d('1')] },
    }),
  );
  t.deepEqual(c.config, {
    entrypoint: ['/bin/sh', '-c'],
    cmd: [],
    env: ['A=1'],
    workingDir: '/w',
    user: '1000:1000',
    exposedPorts: ['53/udp', '8080/tcp'],
    labels: { k: 'v' },
  });
  t.deepEqual(c.diffIds, [d('1')]);
  t.throws(() => parseImageConfig(JSON.stringify({ rootfs: { type: 'x' } })), { message: /rootfs.type/ });
  t.throws(() => parseImageConfig(JSON.stringify({ config: { User: 5 }, rootfs: { type: 'layers', diff_ids: [] } })), {
    message: /config.User is not a string/,
  });
});

test('an OCI artifact (its config not an image config) is refused as such, naming the config media type', (t) => {
  const artifact = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: 'application/vnd.example+type',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: d('e'), size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('1'), size: 10 }],
  };
  t.throws(() => parseManifestOrIndex(JSON.stringify(artifact)), {
    instanceOf: InvalidManifestError,
    message: /an OCI artifact \(config media type "application\/vnd\.oci\.empty\.v1\+json"\), not a container image/,
  });
});
