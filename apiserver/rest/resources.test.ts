import test from 'ava';
import { restResumeRevision } from './resources';

test('restResumeRevision: a watch from a revision several objects share, or one the cache cannot tell, replays it; others start after it', (t) => {
  const counts = new Map([
    [12, 3],
    [13, 1],
  ]);
  const eventsAt = (rv: number): number | undefined => (rv < 10 ? undefined : (counts.get(rv) ?? 0));
  t.is(restResumeRevision('12', eventsAt), '11', 'a BindBatch transaction: the whole revision again');
  t.is(restResumeRevision('13', eventsAt), '13');
  t.is(restResumeRevision('5', eventsAt), '4', 'beyond the cache (etcd history, unknown): replayed, one duplicate at worst');
  t.is(restResumeRevision('1', eventsAt), '1', 'nothing before revision 1 ("0" would mean any)');
  t.is(restResumeRevision('', eventsAt), '');
  t.is(restResumeRevision('0', eventsAt), '0');
});
