import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { ephemeralLow, freePort, pickRange, reservePort } from './free-port';

test('the ephemeral range is read from /proc text, with Linux default when unreadable or odd', (t) => {
  t.is(ephemeralLow('32768\t60999\n'), 32768);
  t.is(ephemeralLow('40000 65000'), 40000);
  t.is(ephemeralLow(undefined), 32768);
  t.is(ephemeralLow('garbage'), 32768);
  t.is(ephemeralLow('80 90'), 32768, 'a privileged "low" is not believed');
});

test('ports are picked below the ephemeral range when there is room, else from all user ports', (t) => {
  t.deepEqual(pickRange(32768), { min: 20000, max: 32767 });
  t.deepEqual(pickRange(20500), { min: 1024, max: 65535 });
});

test('freePort returns a port outside the ephemeral range that can be listened on', async (t) => {
  const low = ephemeralLow(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (low - 20000 >= 1000) t.true(port >= 20000 && port < low, `port ${port} below ${low}`);
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
});

test('a reserved port is not handed to another live process; a dead holder is taken over', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-port-res-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.true(reservePort(40001, dir));
  t.false(reservePort(40001, dir), 'held by this process already');
  writeFileSync(join(dir, '40002'), '1'); // PID 1 is alive
  t.false(reservePort(40002, dir));
  writeFileSync(join(dir, '40003'), '999999999'); // no such process
  t.true(reservePort(40003, dir));
  t.is(readFileSync(join(dir, '40003'), 'utf8'), String(process.pid));
});
