import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { containerImageVolumes, mountImageVolume, type OverlayMounts } from './image-volumes';

const pod: Pod = {
  metadata: { name: 'p', namespace: 'default', uid: 'u1' },
  spec: {
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'tools', image: { reference: 'busybox:1.36', pullPolicy: 'IfNotPresent' } },
      { name: 'data', image: { reference: 'registry:5000/data' } },
    ],
    containers: [
      {
        name: 'a',
        image: 'debian',
        volumeMounts: [
          { name: 'scratch', mountPath: '/s' },
          { name: 'tools', mountPath: '/tools' },
          { name: 'tools', mountPath: '/bin2', subPath: 'bin' },
        ],
      },
      { name: 'b', image: 'debian' },
    ],
  },
};

test('containerImageVolumes: the image volumes a container mounts, once each, with their node path and policy', (t) => {
  const [a, b] = pod.spec!.containers!;
  t.deepEqual(
    containerImageVolumes(pod, a!, '/var/lib/tsk').map((v) => [v.volume.name, v.hostPath, v.reference, v.pullPolicy]),
    [['tools', '/var/lib/tsk/pods/u1/volumes/kubernetes.io~image/tools', 'busybox:1.36', 'IfNotPresent']],
  );
  t.deepEqual(containerImageVolumes(pod, b!, '/var/lib/tsk'), []);
});

test('mountImageVolume mounts the layers at the node path; a failure names the volume and its image', (t) => {
  const [a] = pod.spec!.containers!;
  const [iv] = containerImageVolumes(pod, a!, '/d');
  const calls: Array<[string, readonly string[]]> = [];
  const ok: OverlayMounts = { isMounted: () => false, mount: (dir, layers) => void calls.push([dir, layers]) };
  mountImageVolume(iv!, ['/l/1', '/l/2'], ok);
  t.deepEqual(calls, [['/d/pods/u1/volumes/kubernetes.io~image/tools', ['/l/1', '/l/2']]]);
  const failing: OverlayMounts = {
    isMounted: () => false,
    mount: () => {
      throw new Error('mount overlay on /x: wrong fs type');
    },
  };
  t.throws(() => mountImageVolume(iv!, ['/l/1'], failing), { message: 'image volume "tools" (busybox:1.36): mount overlay on /x: wrong fs type' });
});
