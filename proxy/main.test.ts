import test from 'ava';
import { main } from './main';

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => void (out += `${a.join(' ')}\n`);
  console.error = (...a: unknown[]) => void (err += `${a.join(' ')}\n`);
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test.serial('--help prints the flags and exits 0', async (t) => {
  const r = await capture(['--help']);
  t.is(r.code, 0);
  t.regex(r.out, /Usage: tsk proxy/);
});

test.serial('a bad flag exits 2 naming it, before touching anything', async (t) => {
  const r = await capture(['--node-ip', 'nope']);
  t.is(r.code, 2);
  t.regex(r.err, /--node-ip: "nope" is not an IPv4 address\nRun 'tsk proxy --help'/);
});

test.serial('a busy --http-address exits 1 naming it', async (t) => {
  const { createServer } = await import('node:net');
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(() => void busy.close());
  const addr = busy.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const r = await capture(['--server', 'unix:/nonexistent.sock', '--node-ip', '10.0.0.1', '--http-address', `127.0.0.1:${port}`]);
  t.is(r.code, 1);
  t.regex(r.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
});
