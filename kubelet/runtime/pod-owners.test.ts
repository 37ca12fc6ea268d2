import test from 'ava';
import { PodOwners } from './pod-owners';

test('an ID learnt for one pod is skipped for the others, never for its own or an unfiltered listing', (t) => {
  const o = new PodOwners();
  t.false(o.otherPod('c1', 'a'), 'unknown: read it');
  o.learn('c1', 'a');
  t.true(o.otherPod('c1', 'b'));
  t.false(o.otherPod('c1', 'a'));
  t.false(o.otherPod('c1', undefined));
  o.learn('c2', undefined);
  t.false(o.otherPod('c2', 'b'), 'a record without an owner is always read');
});

test('keepOnly forgets the IDs that are gone', (t) => {
  const o = new PodOwners();
  o.learn('c1', 'a');
  o.learn('c2', 'a');
  o.keepOnly(['c2']);
  t.false(o.otherPod('c1', 'b'));
  t.true(o.otherPod('c2', 'b'));
});
