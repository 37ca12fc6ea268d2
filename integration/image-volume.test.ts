// Image volumes (volumes[].image, KEP-4639) end to end: a real etcd and API
// server in this process, `tsk kubelet` as a child process in a network
// namespace of its own (only lo; the API server through a unix socket, the
// test registry through a unix-socket forwarder), loopback pod network. Two
// images are pushed to the registry besides busybox: a two-layer one (the
// second layer replaces a file and whites one out) and a one-layer one.
//
// Checked: the container reads the image's files through the mount and
// through a subPath (`subPath: dir`, as Kubernetes' image-volumes-subpath
// example), sees the merged layers (the replaced file, not the whited-out
// one), cannot write to either mount and cannot execute from it (noexec);
// the overlays are mounted on the node while the pod runs and gone once it
// is deleted; an image that cannot be pulled keeps the container waiting in
// ErrImagePull / ImagePullBackOff with Kubernetes' Failed event; an OCI
// artifact (not an image) fails its pull with a message saying so.
//
// Everything (processes, namespace, containers, mounts, temp dirs, the
// registry) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Pod } from '../api/gen/tsk/v1/core';
import { buildImage, buildLayer, pushImage, type BuiltImage } from '../kubelet/runtime/image/builder';
import { MediaTypes } from '../kubelet/runtime/image/manifest';
import { eventually } from './support/client-harness';
import { newNodeEnv, outFile, startNodeEnv, waitPod, type NodeEnv } from './support/node-env';

const NS = 'default';

interface Env extends NodeEnv {
  /** host:port of the registry, as the kubelet reaches it. */
  registryHost: string;
}

const test = anyTest as TestFn<Env>;

const MTIME = 1_700_000_000;
const dirEntry = (name: string): { name: string; type: 'dir'; mode: number; mtime: number } => ({ name: `${name}/`, type: 'dir', mode: 0o755, mtime: MTIME });
const fileEntry = (name: string, data: string, mode = 0o644): { name: string; type: 'file'; data: Buffer; mode: number; mtime: number } => ({
  name,
  type: 'file',
  data: Buffer.from(data),
  mode,
  mtime: MTIME,
});

/** Pushes tsk/data:v1 (two layers) and tsk/single:v1 (one layer) to the registry. */
async function pushDataImages(registry: string): Promise<void> {
  const base = await buildLayer({
    entries: [dirEntry('dir'), fileEntry('dir/file.txt', 'from the first layer\n'), fileEntry('dir/old.txt', 'whited out\n')],
  });
  const top = await buildLayer({
    entries: [
      dirEntry('dir'),
      fileEntry('dir/file.txt', 'image volume data\n'),
      fileEntry('dir/.wh.old.txt', ''),
      fileEntry('run.sh', '#!/bin/sh\necho ran\n', 0o755),
    ],
  });
  await pushImage(registry, 'tsk/data', 'v1', buildImage([base, top]));
  await pushImage(registry, 'tsk/single', 'v1', buildImage([await buildLayer({ entries: [fileEntry('hello.txt', 'one layer\n')] })]));
  await pushImage(registry, 'tsk/artifact', 'v1', artifact());
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI artifact as ORAS pushes one: an empty config, one file as a blob, an artifactType. */
function artifact(): BuiltImage {
  const config = Buffer.from('{}');
  const file = Buffer.from('artifact file\n');
  const layer = { blob: file, digest: sha256(file), diffId: sha256(file), mediaType: MediaTypes.ociLayer };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: 'application/vnd.tsk.test.artifact',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: file.length, annotations: { 'org.opencontainers.image.title': 'file.txt' } }],
    }),
  );
  return { config, configDigest: sha256(config), layers: [layer], manifest, manifestDigest: sha256(manifest), manifestMediaType: MediaTypes.ociManifest };
}

test.before(async (t) => {
  t.context = newNodeEnv<Env>('iv');
  await startNodeEnv(t.context, {
    beforeKubelet: async () => {
      t.context.registryHost = `127.0.0.1:${t.context.registry.port}`;
      await pushDataImages(t.context.registryHost);
    },
  });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

/** The mount points of image volumes under the kubelet's data dir (the kubelet shares this process's mount namespace). */
function imageVolumeMounts(env: Env): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(env.dataDir) && m.includes('/volumes/kubernetes.io~image/'));
}

async function deletePod(env: Env, name: string): Promise<void> {
  await env.clientset.pods.delete(name, { namespace: NS });
  await eventually(async () => !(await env.clientset.pods.get(name, NS).catch(() => undefined)), 60_000, `pod ${name} to be deleted`);
}

const PROBE = [
  'echo "file=$(cat /volume/dir/file.txt)"',
  'echo "sub=$(cat /sub/file.txt)"',
  'echo "single=$(cat /single/hello.txt)"',
  'if [ -e /volume/dir/old.txt ]; then echo old=present; else echo old=gone; fi',
  'if touch /volume/x 2>/dev/null; then echo write=ok; else echo write=refused; fi',
  'if touch /sub/x 2>/dev/null; then echo subwrite=ok; else echo subwrite=refused; fi',
  'if /volume/run.sh >/dev/null 2>&1; then echo exec=ok; else echo exec=refused; fi',
  'grep " /volume " /proc/self/mounts | cut -d" " -f4',
].join('; ');

test.serial('an image volume: its files through the mount and a subPath, merged layers, read-only and noexec; unmounted with the pod', async (t) => {
  const env = t.context;
  const pod: Pod = {
    metadata: { name: 'image-volume', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 2,
      volumes: [
        { name: 'volume', image: { reference: `${env.registryHost}/tsk/data:v1`, pullPolicy: 'IfNotPresent' } },
        // No pullPolicy: defaulted by the API server (IfNotPresent for a v1 tag).
        { name: 'single', image: { reference: `${env.registryHost}/tsk/single:v1` } },
        { name: 'out', hostPath: { path: env.out, type: 'Directory' } },
      ],
      containers: [
        {
          name: 'shell',
          image: env.image,
          command: ['sh', '-c', `{ ${PROBE}; } > /out/result.tmp && mv /out/result.tmp /out/result; sleep 3600`],
          volumeMounts: [
            { name: 'volume', mountPath: '/volume' },
            { name: 'volume', mountPath: '/sub', subPath: 'dir' },
            { name: 'single', mountPath: '/single', readOnly: false },
            { name: 'out', mountPath: '/out' },
          ],
        },
      ],
    },
  };
  const created = await env.clientset.pods.create(pod);
  t.is(created.spec?.volumes?.[1]?.image?.pullPolicy, 'IfNotPresent', 'pullPolicy defaulted as a container imagePullPolicy');
  await waitPod(env, 'image-volume', (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined, 'the container to run');
  await eventually(async () => outFile(env, 'result') !== '', 30_000, 'the container to write what it sees');
  const seen = outFile(env, 'result').trim().split('\n');
  t.deepEqual(seen.slice(0, 7), [
    'file=image volume data',
    'sub=image volume data',
    'single=one layer',
    'old=gone',
    'write=refused',
    'subwrite=refused',
    'exec=refused',
  ]);
  const opts = (seen[7] ?? '').split(',');
  t.true(opts.includes('ro') && opts.includes('noexec') && opts.includes('nosuid') && opts.includes('nodev'), `mount options ${seen[7] ?? ''}`);
  t.is(imageVolumeMounts(env).length, 2, 'both overlays are mounted on the node');

  const evs = (await env.clientset.events.list({ namespace: NS, fieldSelector: 'involvedObject.name=image-volume' })).items ?? [];
  t.true(
    evs.some(
      (e) =>
        e.reason === 'Pulling' && e.message === `Pulling image "${env.registryHost}/tsk/data:v1"` && e.involvedObject?.fieldPath === 'spec.volumes{volume}',
    ),
    evs.map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`).join('\n'),
  );

  await deletePod(env, 'image-volume');
  await eventually(async () => imageVolumeMounts(env).length === 0, 30_000, 'the overlays to be unmounted');
});

test.serial('an image volume whose image cannot be pulled: the container waits in ErrImagePull, then ImagePullBackOff', async (t) => {
  const env = t.context;
  const ref = `${env.registryHost}/tsk/missing:v1`;
  await env.clientset.pods.create({
    metadata: { name: 'missing-image', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 2,
      volumes: [{ name: 'volume', image: { reference: ref, pullPolicy: 'IfNotPresent' } }],
      containers: [{ name: 'shell', image: env.image, command: ['sleep', '3600'], volumeMounts: [{ name: 'volume', mountPath: '/volume' }] }],
    },
  });
  const waiting = (reason: string) => (p: Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === reason;
  const first = await waitPod(env, 'missing-image', (p) => waiting('ErrImagePull')(p) || waiting('ImagePullBackOff')(p), 'ErrImagePull');
  t.regex(first.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /Failed to pull image|Back-off pulling image/);
  await waitPod(env, 'missing-image', waiting('ImagePullBackOff'), 'ImagePullBackOff');
  const evs = (await env.clientset.events.list({ namespace: NS, fieldSelector: 'involvedObject.name=missing-image' })).items ?? [];
  t.true(
    evs.some((e) => e.reason === 'Failed' && (e.message ?? '').startsWith(`Failed to pull image "${ref}"`)),
    evs.map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`).join('\n'),
  );
  t.is(imageVolumeMounts(env).length, 0);
  await deletePod(env, 'missing-image');
});

test.serial('an OCI artifact as an image volume: the pull fails saying it is an artifact, the container waits in ErrImagePull', async (t) => {
  const env = t.context;
  const ref = `${env.registryHost}/tsk/artifact:v1`;
  await env.clientset.pods.create({
    metadata: { name: 'artifact', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 2,
      volumes: [{ name: 'volume', image: { reference: ref, pullPolicy: 'IfNotPresent' } }],
      containers: [{ name: 'shell', image: env.image, command: ['sleep', '3600'], volumeMounts: [{ name: 'volume', mountPath: '/volume', subPath: 'dir' }] }],
    },
  });
  const p = await waitPod(
    env,
    'artifact',
    (x) => ['ErrImagePull', 'ImagePullBackOff'].includes(x.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
    'the container to wait for its image volume',
  );
  t.is(p.status?.phase, 'Pending');
  const evs = (await env.clientset.events.list({ namespace: NS, fieldSelector: 'involvedObject.name=artifact' })).items ?? [];
  t.true(
    evs.some(
      (e) =>
        e.reason === 'Failed' &&
        (e.message ?? '').startsWith(`Failed to pull image "${ref}"`) &&
        (e.message ?? '').includes('an OCI artifact (config media type "application/vnd.oci.empty.v1+json"), not a container image'),
    ),
    evs.map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`).join('\n'),
  );
  await deletePod(env, 'artifact');
});
