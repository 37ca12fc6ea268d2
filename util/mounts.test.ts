// Mount points parsed from mountinfo: escapes decoded, those under a dir deepest first.

import test from 'ava';
import { mountPointsUnder, parseMountPoints, readOnlyOverlayOptions } from './mounts';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '90 22 0:50 / /var/lib/tsk/pods/u1/volumes/kubernetes.io~secret/creds rw,nosuid,nodev - tmpfs tmpfs rw,mode=755',
  '91 22 0:51 / /var/lib/tsk/pods/u1/volumes/kubernetes.io~projected/a\\040b rw - tmpfs tmpfs rw',
  '92 22 0:52 / /var/lib/tsk/pods/u10/x rw - tmpfs tmpfs rw',
  '',
].join('\n');

test('parseMountPoints decodes octal escapes', (t) => {
  t.deepEqual(parseMountPoints(MOUNTINFO), [
    '/',
    '/var/lib/tsk/pods/u1/volumes/kubernetes.io~secret/creds',
    '/var/lib/tsk/pods/u1/volumes/kubernetes.io~projected/a b',
    '/var/lib/tsk/pods/u10/x',
  ]);
});

test('mountPointsUnder: only under the dir (not a sibling with the same prefix), deepest first', (t) => {
  t.deepEqual(mountPointsUnder('/var/lib/tsk/pods/u1', MOUNTINFO), [
    '/var/lib/tsk/pods/u1/volumes/kubernetes.io~projected/a b',
    '/var/lib/tsk/pods/u1/volumes/kubernetes.io~secret/creds',
  ]);
  t.deepEqual(mountPointsUnder('/var/lib/tsk/pods/u2', MOUNTINFO), []);
});

test('readOnlyOverlayOptions: read-only, noexec, nosuid, nodev, the top layer first', (t) => {
  t.is(readOnlyOverlayOptions(['/l/base', '/l/mid', '/l/top']), 'ro,nosuid,nodev,noexec,lowerdir=/l/top:/l/mid:/l/base');
});

test('readOnlyOverlayOptions refuses no layers, a layer path overlayfs would split, and options beyond a page', (t) => {
  t.throws(() => readOnlyOverlayOptions([]), { message: 'an image without layers cannot be mounted' });
  t.throws(() => readOnlyOverlayOptions(['/l/a:b', '/l/c']), { message: /contains ':' or ','/ });
  t.throws(() => readOnlyOverlayOptions(Array.from({ length: 60 }, (_, i) => `/var/lib/tsk/images/layers/sha256/${String(i).padStart(64, '0')}`)), {
    message: /longer than a page/,
  });
});
