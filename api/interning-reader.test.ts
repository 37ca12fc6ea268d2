import test from 'ava';
import { Pod } from './gen/tsk/v1/core';
import { InterningReader } from './interning-reader';

const pod = (name: string): Uint8Array =>
  Pod.encode({
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', command: ['sh', 'é', 'x'.repeat(100)] }] },
  }).finish();

test('decodes exactly what the plain reader decodes, non-ASCII and long strings included', (t) => {
  const bytes = pod('a');
  t.deepEqual(Pod.decode(new InterningReader(bytes)), Pod.decode(bytes));
});

test('repeated short strings are one string across decodes; the rest is still read right', (t) => {
  const a = Pod.decode(new InterningReader(pod('pod-a')));
  const b = Pod.decode(new InterningReader(pod('pod-b')));
  t.is(a.metadata?.name, 'pod-a');
  t.is(b.metadata?.name, 'pod-b');
  t.is(a.spec?.containers?.[0]?.image, b.spec?.containers?.[0]?.image);
  t.is(b.metadata?.labels?.['app'], 'web');
});

test('a truncated string is refused as the library refuses it', (t) => {
  const bytes = pod('a');
  t.throws(() => Pod.decode(new InterningReader(bytes.subarray(0, bytes.length - 3))));
});

test('unique strings sharing slots with others never come back as another string', (t) => {
  for (let i = 0; i < 20_000; i++) {
    const name = `p-${i.toString(36)}`;
    t.is(Pod.decode(new InterningReader(pod(name))).metadata?.name, name);
  }
});
