import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { admitPodOS } from './pod-os';

const pod = (os?: string, label?: string): Pod => ({
  metadata: { name: 'p', ...(label ? { labels: { 'kubernetes.io/os': label } } : {}) },
  spec: { ...(os !== undefined ? { os: { name: os } } : {}), containers: [{ name: 'c', image: 'busybox' }] },
});

test('a pod without spec.os, or for linux, is admitted on a linux node', (t) => {
  t.is(admitPodOS(pod()), undefined);
  t.is(admitPodOS(pod('linux', 'linux')), undefined);
  t.is(admitPodOS(pod('')), undefined, 'a pod read back from protobuf has an empty name');
});

test('a windows pod is PodOSNotSupported on a linux node', (t) => {
  t.deepEqual(admitPodOS(pod('windows')), { reason: 'PodOSNotSupported', message: "Failed to admit pod as the OS field doesn't match node OS" });
});

test('a kubernetes.io/os label of another OS is PodOSSelectorNodeLabelDoesNotMatch, checked first', (t) => {
  t.deepEqual(admitPodOS(pod('windows', 'windows')), {
    reason: 'PodOSSelectorNodeLabelDoesNotMatch',
    message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
  });
});
