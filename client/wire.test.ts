import test from 'ava';
import { CreatePodRequest, UpdateServiceRequest } from '../api/gen/tsk/v1/api';
import { Pod, Service } from '../api/gen/tsk/v1/core';
import { encodeWriteRequest } from './wire';

const pod: Pod = { metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };

test('write requests are byte for byte what the generated serializers produce', (t) => {
  for (const options of [
    { dryRun: false, fieldManager: '' },
    { dryRun: true, fieldManager: 'tsctl' },
  ]) {
    t.deepEqual(encodeWriteRequest(Pod, pod, options, false), Buffer.from(CreatePodRequest.encode({ object: pod, options }).finish()));
  }
  const svc: Service = { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };
  const options = { dryRun: true, fieldManager: '' };
  t.deepEqual(encodeWriteRequest(Service, svc, options, true), Buffer.from(UpdateServiceRequest.encode({ object: svc, options }).finish()));
});

test('each request is its own copy (the writer is reused)', (t) => {
  const first = encodeWriteRequest(Pod, pod, { dryRun: false, fieldManager: '' }, false);
  const copy = Buffer.from(first);
  encodeWriteRequest(Pod, { ...pod, metadata: { name: 'x'.repeat(3000) } }, { dryRun: true, fieldManager: 'm' }, false);
  t.deepEqual(first, copy);
  t.is(CreatePodRequest.decode(first).object?.metadata?.name, 'web');
});
