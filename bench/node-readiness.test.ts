import test from 'ava';
import type { Node } from '../api/gen/tsk/v1/core';
import { ReadyUnknownCounter } from './node-readiness';

const node = (name: string, ready?: string): Node => ({
  metadata: { name },
  status: { conditions: ready === undefined ? [] : [{ type: 'Ready', status: ready }] },
});

test('ReadyUnknownCounter: counts each Ready -> Unknown, not one seen first Unknown nor a relist of the same state', (t) => {
  const c = new ReadyUnknownCounter();
  c.observe(node('a'));
  c.observe(node('a', 'True'));
  c.observe(node('b', 'Unknown'));
  t.is(c.transitions, 0);
  c.observe(node('a', 'Unknown'));
  c.observe(node('a', 'Unknown'));
  t.is(c.transitions, 1);
  c.observe(node('a', 'True'));
  c.observe(node('a', 'Unknown'));
  c.observe(node('c', 'False'));
  c.observe(node('c', 'Unknown'));
  t.is(c.transitions, 3);
  t.is(c.nodes, 2);
});
