import test from 'ava';
import { assertCauses, valid } from './fixtures';
import { validate, validateUpdate } from './index';

const gated = () => {
  const p = valid('Pod');
  p.spec!.nodeName = undefined;
  p.spec!.schedulingGates = [{ name: 'example.com/foo' }, { name: 'example.com/bar' }];
  return p;
};

test("the documentation's gated pod is valid", (t) => {
  assertCauses(t, validate('Pod', gated()), []);
});

test('gate names are qualified names, each once', (t) => {
  const p = gated();
  p.spec!.schedulingGates = [{ name: 'example.com/foo' }, { name: 'not a name' }, { name: 'example.com/foo' }];
  assertCauses(t, validate('Pod', p), [
    ['spec.schedulingGates[1].name', 'FieldValueInvalid', 'Invalid value: "not a name"'],
    ['spec.schedulingGates[2]', 'FieldValueDuplicate', 'Duplicate value: "example.com/foo"'],
  ]);
});

test('a pod cannot be created bound and gated', (t) => {
  const p = gated();
  p.spec!.nodeName = 'node-1';
  assertCauses(t, validate('Pod', p), [['spec.nodeName', 'FieldValueForbidden', 'cannot be set until all schedulingGates have been cleared']]);
});

test('an update may remove gates but not add one', (t) => {
  const old = gated();
  const removed = gated();
  removed.spec!.schedulingGates = [{ name: 'example.com/bar' }];
  assertCauses(t, validateUpdate('Pod', removed, old), []);
  const added = gated();
  added.spec!.schedulingGates = [{ name: 'example.com/bar' }, { name: 'example.com/baz' }];
  assertCauses(t, validateUpdate('Pod', added, old), [
    ['spec.schedulingGates[1].name', 'FieldValueForbidden', "only deletion is allowed, but found new scheduling gate 'example.com/baz'"],
  ]);
});
