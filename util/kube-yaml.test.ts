import test from 'ava';
import { load } from 'js-yaml';
import { KUBE_YAML_SCHEMA } from './kube-yaml';

test("file modes with a leading zero are octal, as kubectl's YAML 1.1 reads them", (t) => {
  const doc = load('defaultMode: 0644\nmode: 0400\nneg: -010\nhex: 0x1F\nnew: 0o755\ndecimal: 420\nzero: 0\n', { schema: KUBE_YAML_SCHEMA });
  t.deepEqual(doc, { defaultMode: 420, mode: 256, neg: -8, hex: 31, new: 493, decimal: 420, zero: 0 });
});

test('the rest is the core schema: yes/no and base 60 stay strings, 08 is decimal', (t) => {
  const doc = load('a: yes\nb: 1:30\nc: 08\nd: true\ne: 1.5\nf: ~\n', { schema: KUBE_YAML_SCHEMA });
  t.deepEqual(doc, { a: 'yes', b: '1:30', c: 8, d: true, e: 1.5, f: null });
});
