import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import { codecOf, encodeForClient, encodeForStorage, withoutResourceVersion, withResourceVersion } from './objects';

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', uid: 'u-1', labels: { app: 'web' }, resourceVersion: '7' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'n1' },
  status: { phase: 'Running' },
};

test('the stored form has no resourceVersion; the client form gets it spliced in', (t) => {
  const stored = encodeForStorage('Pod', pod as ApiObject);
  const plain = codecOf('Pod').decode(stored) as Pod;
  t.is(plain.metadata?.resourceVersion, '');
  const client = withResourceVersion(stored, 123456);
  const back = codecOf('Pod').decode(client) as Pod;
  t.deepEqual(back, { ...plain, metadata: { ...plain.metadata, resourceVersion: '123456' } });
  t.is(back.spec?.nodeName, 'n1');
  t.deepEqual(back.metadata?.labels, { app: 'web' });
});

test('an object without metadata gets a metadata field holding only the revision', (t) => {
  const stored = Buffer.from(
    codecOf('Pod')
      .encode({ spec: { nodeName: 'x' } } as ApiObject)
      .finish(),
  );
  const back = codecOf('Pod').decode(withResourceVersion(stored, 5)) as Pod;
  t.is(back.metadata?.resourceVersion, '5');
  t.is(back.spec?.nodeName, 'x');
});

test('encodes share one writer: each result is its own copy, and the object is left as it was', (t) => {
  const a = encodeForStorage('Pod', pod as ApiObject);
  const other: Pod = { metadata: { name: 'x'.repeat(5000) }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const b = encodeForStorage('Pod', other as ApiObject);
  const again = encodeForStorage('Pod', pod as ApiObject);
  t.true(a.equals(again), 'a later, larger encode did not overwrite an earlier result');
  t.is((codecOf('Pod').decode(b) as Pod).metadata?.name, 'x'.repeat(5000));
  t.is(pod.metadata?.resourceVersion, '7');
  t.deepEqual(
    codecOf('Pod').decode(a),
    codecOf('Pod').decode(
      Buffer.from(
        codecOf('Pod')
          .encode({ ...pod, metadata: { ...pod.metadata, resourceVersion: '' } } as ApiObject)
          .finish(),
      ),
    ),
  );
});

test('withoutResourceVersion gives back the stored bytes a client encoding was spliced from', (t) => {
  const stored = encodeForStorage('Pod', pod as ApiObject);
  for (const revision of [1, 5, 123456, 2 ** 40]) {
    const back = withoutResourceVersion(withResourceVersion(stored, revision), revision);
    t.true(back?.equals(stored), `revision ${revision}`);
  }
  t.is(withoutResourceVersion(withResourceVersion(stored, 12), 13), undefined, 'another revision: not cut');
  const bare = Buffer.from(
    codecOf('Pod')
      .encode({ spec: { nodeName: 'x' } } as ApiObject)
      .finish(),
  );
  t.is(withoutResourceVersion(withResourceVersion(bare, 5), 5), undefined, 'metadata holding only the revision: no stored form to cut back to');
});

test('withoutResourceVersion on a full encode: refused while fields follow resourceVersion, else the stored form', (t) => {
  // A full encode writes ObjectMeta's fields in number order: labels (10) come after resourceVersion (5).
  t.is(withoutResourceVersion(encodeForClient('Pod', pod as ApiObject), 7), undefined);
  const short: Pod = { metadata: { name: 'a', resourceVersion: '7' }, spec: { nodeName: 'n' } };
  t.true(withoutResourceVersion(encodeForClient('Pod', short as ApiObject), 7)?.equals(encodeForStorage('Pod', short as ApiObject)));
});
