import test from 'ava';
import { main } from './main';

/** Runs fn with console.log/error captured. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await fn();
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test.serial('-h prints the flags and exits 0', async (t) => {
  const r = await captured(() => main(['-h']));
  t.is(r.code, 0);
  t.regex(r.out, /--http-address HOST:PORT .*default 127\.0\.0\.1:10259/);
});

test.serial('a bad flag exits 2 naming the flag, and starts nothing', async (t) => {
  const r = await captured(() => main(['--http-address', 'nowhere']));
  t.is(r.code, 2);
  t.regex(r.err, /tsk scheduler: --http-address: "nowhere" is not HOST:PORT/);
  t.regex(r.err, /tsk scheduler --help/);
});
