import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mountedOverlayLowerDirs, usedLayerDirs } from './usage';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '95 22 0:60 / /var/lib/tsk/pods/u1/volumes/kubernetes.io~image/tools ro,nosuid,nodev,noexec - overlay overlay ro,lowerdir=/s/layers/sha256/b:/s/layers/sha256/a,redirect_dir=on',
  '96 22 0:61 / /mnt/other rw - overlay overlay rw,lowerdir=/x,upperdir=/u,workdir=/w',
  '',
].join('\n');

test("mountedOverlayLowerDirs: every overlay's lowerdirs, nothing of other file systems", (t) => {
  t.deepEqual(mountedOverlayLowerDirs(MOUNTINFO), ['/s/layers/sha256/b', '/s/layers/sha256/a', '/x']);
});

test('usedLayerDirs counts the layers of mounted overlays (image volumes) even with no container', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(usedLayerDirs(path.join(dir, 'containers'), MOUNTINFO).sort(), ['/s/layers/sha256/a', '/s/layers/sha256/b', '/x']);
});
