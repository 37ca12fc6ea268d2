import test from 'ava';
import { restResumeRevision } from './resources';

test('restResumeRevision: a watch from a revision several objects share replays it; others start after it', (t) => {
  const counts = new Map([
    [12, 3],
    [13, 1],
  ]);
  const eventsAt = (rv: number): number | undefined => (rv < 10 ? undefined : (counts.get(rv) ?? 0));
  t.is(restResumeRevision('12', eventsAt), '11', 'a BindBatch transaction: the whole revision again');
  t.is(restResumeRevision('13', eventsAt), '13');
  t.is(restResumeRevision('5', eventsAt), '5', 'beyond the cache: as asked');
  t.is(restResumeRevision('', eventsAt), '');
  t.is(restResumeRevision('0', eventsAt), '0');
});
