import test from 'ava';
import { InvalidError } from '../../api/errors';
import { finalizersForDelete, parsePropagationPolicy, sameFinalizers, type PropagationPolicy } from './propagation';

const cases: [string, string[], PropagationPolicy | undefined, string[]][] = [
  ['background, nothing to add', [], 'Background', []],
  ['unset, nothing to add', ['example.com/x'], undefined, ['example.com/x']],
  ['orphan adds its finalizer after the others', ['example.com/x'], 'Orphan', ['example.com/x', 'orphan']],
  ['foreground adds its finalizer', [], 'Foreground', ['foregroundDeletion']],
  ['foreground replaces orphan', ['orphan'], 'Foreground', ['foregroundDeletion']],
  ['background removes both', ['orphan', 'example.com/x'], 'Background', ['example.com/x']],
  ['unset keeps an orphan delete in progress', ['orphan'], undefined, ['orphan']],
  ['unset keeps a foreground delete in progress', ['foregroundDeletion'], undefined, ['foregroundDeletion']],
];
for (const [title, cur, policy, want] of cases) {
  test(`finalizersForDelete: ${title}`, (t) => t.deepEqual(finalizersForDelete(cur, policy), want));
}

test('policies: unset, the three names, and an InvalidError naming propagationPolicy otherwise', (t) => {
  t.is(parsePropagationPolicy('Pod', 'p', ''), undefined);
  for (const p of ['Orphan', 'Background', 'Foreground'] as const) t.is(parsePropagationPolicy('Pod', 'p', p), p);
  const err = t.throws(() => parsePropagationPolicy('ReplicationController', 'web', 'orphan'), { instanceOf: InvalidError });
  t.is(err?.causes[0]?.field, 'propagationPolicy');
  t.is(
    err?.message,
    'ReplicationController "web" is invalid: propagationPolicy: Unsupported value: "orphan": supported values: "Foreground", "Background", "Orphan", "nil"',
  );
});

test('finalizer sets compare without order', (t) => {
  t.true(sameFinalizers(['a', 'orphan'], ['orphan', 'a']));
  t.false(sameFinalizers(['a'], ['a', 'orphan']));
});
