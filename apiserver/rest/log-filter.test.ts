import test from 'ava';
import { SinceFilter } from './log-filter';

test('lines before the bound are dropped; timestamps come off unless asked for', (t) => {
  const since = Date.parse('2026-12-07T08:00:00Z');
  const f = new SinceFilter(since, false);
  const out = f.push(Buffer.from('2026-12-07T07:59:59.999999999Z old\n2026-12-07T08:00:00.000000001Z new\n2026-12-07T08:00:01Z par'));
  t.is(out.toString(), 'new\n');
  t.is(f.push(Buffer.from('tial\n')).toString(), 'partial\n', 'a line split across chunks is held until it ends');
  t.is(f.flush().toString(), '');
  const kept = new SinceFilter(since, true);
  t.is(kept.push(Buffer.from('2026-12-07T08:00:05Z x\nno stamp\n')).toString(), '2026-12-07T08:00:05Z x\nno stamp\n');
  t.is(kept.push(Buffer.from('2026-12-07T08:00:06Z last')).toString(), '');
  t.is(kept.flush().toString(), '2026-12-07T08:00:06Z last');
});
