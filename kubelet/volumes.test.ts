// Pod volumes on the node: emptyDir directories under the data dir, hostPath
// checks per type, and their removal with the pod.

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pod, Volume } from '../api/gen/tsk/v1/core';
import { listPodDirs, podDir, removePodDir, setUpVolumes, VolumeError } from './volumes';

function tmp(t: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-kubelet-vol-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const pod = (volumes: Volume[]): Pod => ({ metadata: { name: 'p', uid: 'uid-1' }, spec: { volumes } });

test('emptyDir: a world-writable directory under the pod, removed with it', (t) => {
  const data = tmp(t);
  setUpVolumes(pod([{ name: 'cache', emptyDir: {} }]), data);
  const dir = path.join(data, 'pods', 'uid-1', 'volumes', 'kubernetes.io~empty-dir', 'cache');
  t.is(fs.statSync(dir).mode & 0o777, 0o777);
  setUpVolumes(pod([{ name: 'cache', emptyDir: {} }]), data);
  t.deepEqual(listPodDirs(data), ['uid-1']);
  removePodDir(data, 'uid-1');
  t.false(fs.existsSync(path.join(data, 'pods', 'uid-1')));
  t.throws(() => setUpVolumes(pod([{ name: 'm', emptyDir: { medium: 'Memory' } }]), data), {
    instanceOf: VolumeError,
    message: /medium Memory needs tmpfs, which this kubelet cannot mount/,
  });
});

test('emptyDir mode (01777 for a shared /tmp); Memory ones on a tmpfs of their sizeLimit', (t) => {
  const data = tmp(t);
  const mounted: [string, number | undefined][] = [];
  const memory = (dir: string, size?: number): void => {
    fs.mkdirSync(dir, { recursive: true });
    mounted.push([path.basename(dir), size]);
  };
  setUpVolumes(
    pod([
      { name: 'tmp', emptyDir: { mode: 0o1777 } },
      { name: 'ram', emptyDir: { medium: 'Memory', sizeLimit: '8Mi', mode: 0o700 } },
      { name: 'ram2', emptyDir: { medium: 'Memory' } },
    ]),
    data,
    memory,
  );
  const base = path.join(data, 'pods', 'uid-1', 'volumes', 'kubernetes.io~empty-dir');
  t.is(fs.statSync(path.join(base, 'tmp')).mode & 0o7777, 0o1777);
  t.is(fs.statSync(path.join(base, 'ram')).mode & 0o7777, 0o700);
  t.deepEqual(mounted, [
    ['ram', 8 * 1024 * 1024],
    ['ram2', undefined],
  ]);
});

test('emptyDir with fsGroup: group-owned by fsGroup, g+rwx and setgid, so new files belong to the group', (t) => {
  const data = tmp(t);
  const p: Pod = { metadata: { name: 'p', uid: 'uid-2' }, spec: { securityContext: { fsGroup: 2345 }, volumes: [{ name: 'shared', emptyDir: {} }] } };
  setUpVolumes(p, data);
  setUpVolumes(p, data);
  const dir = path.join(data, 'pods', 'uid-2', 'volumes', 'kubernetes.io~empty-dir', 'shared');
  const st = fs.statSync(dir);
  t.is(st.gid, 2345);
  t.is(st.mode & 0o7777, 0o2777);
  fs.writeFileSync(path.join(dir, 'f'), '');
  t.is(fs.statSync(path.join(dir, 'f')).gid, 2345, 'inherited through setgid');
});

test('hostPath types: created, or checked, with errors naming the volume and path', (t) => {
  const data = tmp(t);
  const host = tmp(t);
  setUpVolumes(
    pod([
      { name: 'd', hostPath: { path: path.join(host, 'new', 'dir'), type: 'DirectoryOrCreate' } },
      { name: 'f', hostPath: { path: path.join(host, 'a', 'file'), type: 'FileOrCreate' } },
    ]),
    data,
  );
  t.true(fs.statSync(path.join(host, 'new', 'dir')).isDirectory());
  t.true(fs.statSync(path.join(host, 'a', 'file')).isFile());
  setUpVolumes(pod([{ name: 'any', hostPath: { path: path.join(host, 'missing') } }]), data);
  t.throws(() => setUpVolumes(pod([{ name: 'd', hostPath: { path: path.join(host, 'missing'), type: 'Directory' } }]), data), {
    instanceOf: VolumeError,
    message: new RegExp(`hostPath volume "d": ${host}/missing is not a directory`),
  });
  t.throws(() => setUpVolumes(pod([{ name: 'f', hostPath: { path: path.join(host, 'new'), type: 'File' } }]), data), { message: /is not a file/ });
  t.throws(() => setUpVolumes(pod([{ name: 'r', hostPath: { path: 'relative/path' } }]), data), { message: /must be absolute/ });
  t.throws(() => setUpVolumes(pod([{ name: 'x', hostPath: { path: host, type: 'Weird' } }]), data), { message: /unknown hostPath type "Weird"/ });
});

test('volumes the kubelet does not know, and unsafe UIDs, are refused', (t) => {
  t.throws(() => setUpVolumes(pod([{ name: 'secret' }]), '/nonexistent'), {
    instanceOf: VolumeError,
    message: /volume "secret": only emptyDir, hostPath, configMap, secret, downwardAPI, projected and image volumes are supported/,
  });
  t.throws(() => podDir('/var/lib/tsk', '../etc'), { message: /not a safe directory name/ });
});
