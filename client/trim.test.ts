import test from 'ava';
import { Pod, Secret } from '../api/gen/tsk/v1/core';
import { trimForCache } from './trim';

const sent: Pod = {
  metadata: {
    name: 'web-1',
    namespace: 'default',
    uid: 'u1',
    labels: { app: 'web' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'u0', controller: true }],
    managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: '{"f:spec":{}}' }],
  },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'pause', resources: { requests: { cpu: '10m' } } }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], podIPs: [{ ip: '10.128.0.5' }] },
};

/** As an informer gets it: decoded, every absent list and map a fresh empty one. */
const decoded = (p: Pod): Pod => Pod.decode(Pod.encode(p).finish());

test('drops managedFields and keeps every other field: the trimmed pod encodes as the pod without them', (t) => {
  const trimmed = trimForCache(decoded(sent));
  t.is(trimmed.metadata?.managedFields, undefined);
  const { managedFields: _mf, ...metadata } = sent.metadata!;
  t.deepEqual(Buffer.from(Pod.encode(trimmed).finish()), Buffer.from(Pod.encode({ ...sent, metadata }).finish()));
  const expected = decoded({ ...sent, metadata });
  delete expected.metadata!.managedFields;
  t.deepEqual(trimmed, expected);
});

test('empty lists and maps become one shared frozen empty in every object, at every depth', (t) => {
  const [a, b] = [trimForCache(decoded(sent)), trimForCache(decoded(sent))];
  t.is(a.metadata?.finalizers, b.metadata?.finalizers);
  t.is(a.metadata?.annotations, b.metadata?.annotations);
  t.is(a.spec?.volumes, b.spec?.volumes);
  t.is(a.spec?.containers?.[0]?.env, b.spec?.containers?.[0]?.env);
  t.is(a.spec?.containers?.[0]?.resources?.limits, b.spec?.containers?.[0]?.resources?.limits);
  t.is(a.spec?.volumes?.length, 0);
  t.deepEqual(a.metadata?.annotations, {});
  // Non-empty ones stay the object's own.
  t.not(a.metadata?.labels, b.metadata?.labels);
  t.not(a.spec?.containers, b.spec?.containers);
  // A write into a cached object's empty is a TypeError, not a change to every object.
  t.throws(() => (a.spec!.volumes as unknown[]).push({}), { instanceOf: TypeError });
  t.throws(
    () => {
      'use strict';
      (a.metadata!.annotations as Record<string, string>)['x'] = 'y';
    },
    { instanceOf: TypeError },
  );
  t.deepEqual(b.metadata?.annotations, {});
});

test('idempotent: a trimmed object trims to itself', (t) => {
  const once = trimForCache(decoded(sent));
  const copy = decoded(sent);
  t.deepEqual(trimForCache(trimForCache(copy)), once);
});

test('bytes (a Secret’s data) are kept as decoded, empty or not', (t) => {
  const secret = Secret.decode(Secret.encode({ metadata: { name: 's' }, data: { a: Buffer.from('x'), b: Buffer.alloc(0) } }).finish());
  const trimmed = trimForCache(secret);
  t.true(trimmed.data?.['a'] instanceof Uint8Array);
  t.is(Buffer.from(trimmed.data!['a']!).toString(), 'x');
  t.true(trimmed.data?.['b'] instanceof Uint8Array);
  t.is(trimmed.data?.['b']?.length, 0);
});
