import test from 'ava';
import { Bitmap, decodeAllocation, encodeAllocation, parsePortRange, parseServiceCidr } from './allocator';

test('service CIDR skips the network address, the first address and the broadcast', (t) => {
  const r = parseServiceCidr('10.96.0.0/16');
  t.is(r.size, 65536 - 3);
  t.is(r.valueOf(0), '10.96.0.2');
  t.is(r.valueOf(r.size - 1), '10.96.255.254');
  t.is(r.slotOf('10.96.0.0'), -1);
  t.is(r.slotOf('10.96.0.1'), -1);
  t.is(r.slotOf('10.96.255.255'), -1);
  t.is(r.slotOf('10.97.0.5'), -1);
  t.is(r.slotOf('10.96.1.0'), 254);
  t.is(r.slotOf('not-an-ip'), -1);
});

test('bad ranges are refused with the flag value in the message', (t) => {
  t.throws(() => parseServiceCidr('10.96.0.1/16'), { message: /host bits are set.*10\.96\.0\.0\/16/ });
  t.throws(() => parseServiceCidr('10.96.0.0'), { message: /invalid service CIDR/ });
  t.throws(() => parsePortRange('32767-30000'), { message: /invalid node port range/ });
  t.throws(() => parsePortRange('0-70000'), { message: /invalid node port range/ });
});

test('port range maps ports to slots', (t) => {
  const r = parsePortRange('30000-32767');
  t.is(r.size, 2768);
  t.is(r.slotOf('30000'), 0);
  t.is(r.slotOf('32767'), 2767);
  t.is(r.slotOf('29999'), -1);
  t.is(r.valueOf(80), '30080');
});

test('bitmap allocates every slot exactly once, wrapping from a random start', (t) => {
  const b = new Bitmap(10);
  const got = new Set<number>();
  for (let i = 0; i < 10; i++) {
    const slot = b.nextFree(7);
    t.true(slot >= 0);
    t.false(got.has(slot));
    got.add(slot);
    b.set(slot);
  }
  t.is(b.nextFree(0), -1);
  t.is(b.used, 10);
  b.clear(3);
  t.is(b.nextFree(5), 3);
});

test('an allocation survives encoding, and is remapped when the range changes', (t) => {
  const r = parsePortRange('30000-30009');
  const b = new Bitmap(r.size);
  b.set(r.slotOf('30001'));
  b.set(r.slotOf('30009'));
  const stored = encodeAllocation(r, b);
  const same = decodeAllocation(r, stored);
  t.true(same.has(r.slotOf('30001')));
  t.true(same.has(r.slotOf('30009')));
  t.is(same.used, 2);
  const wider = parsePortRange('30000-30019');
  const moved = decodeAllocation(wider, stored, parsePortRange);
  t.true(moved.has(wider.slotOf('30001')));
  t.true(moved.has(wider.slotOf('30009')));
  t.is(moved.used, 2);
  t.is(decodeAllocation(r, undefined).used, 0);
});
