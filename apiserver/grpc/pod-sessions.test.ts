import test from 'ava';
import { BadRequestError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { pickContainer } from './pod-sessions';

const pod = (names: string[], init: string[] = []): Pod => ({
  spec: { containers: names.map((name) => ({ name })), initContainers: init.map((name) => ({ name })) },
});

test('the only container is the default', (t) => {
  t.is(pickContainer(pod(['web']), 'p', '', true), 'web');
  t.is(pickContainer(pod(['web']), 'p', 'web', false), 'web');
});

test('several containers and none named: kubectl error listing them', (t) => {
  const err = t.throws(() => pickContainer(pod(['a', 'b']), 'web', '', false), { instanceOf: BadRequestError });
  t.is(err?.message, 'a container name must be specified for pod web, choose one of: [a b]');
});

test('an unknown container; init containers count for logs only', (t) => {
  const p = pod(['a'], ['setup']);
  t.is(t.throws(() => pickContainer(p, 'web', 'c', true))?.message, 'container c is not valid for pod web');
  t.is(pickContainer(p, 'web', 'setup', true), 'setup');
  t.is(t.throws(() => pickContainer(p, 'web', 'setup', false))?.message, 'container setup is not valid for pod web');
});
