import test from 'ava';
import { parseArgs } from './args';
import { Context, PLAINTEXT_ENV } from './context';

function context(env: NodeJS.ProcessEnv, flags: string[] = []): { ctx: Context; stderr: string[] } {
  const stderr: string[] = [];
  const io = { stdout: { write: () => true }, stderr: { write: (s: string | Uint8Array) => stderr.push(String(s)) }, stdin: process.stdin };
  const ctx = new Context(parseArgs(['--server', '127.0.0.1:7000', ...flags], []), { io, env: { TSK_CONFIG: '/nonexistent/tsk-config', ...env } });
  return { ctx, stderr };
}

test('the benchmark plaintext variable connects in plaintext, with the --token as identity, and says so', async (t) => {
  const { ctx, stderr } = context({ [PLAINTEXT_ENV]: 'true' }, ['--token', 'secret']);
  const target = await ctx.resolveTarget();
  t.deepEqual(target.credentials, { insecurePlaintext: true, token: 'secret' });
  t.is(target.server, '127.0.0.1:7000');
  t.regex(stderr.join(''), /PLAINTEXT/);
  t.deepEqual((await context({ [PLAINTEXT_ENV]: 'true' }).ctx.resolveTarget()).credentials, { insecurePlaintext: true });
});

test('without the variable (or with another value) the connection stays TLS', async (t) => {
  for (const env of [{}, { [PLAINTEXT_ENV]: '1' }]) {
    const target = await context(env).ctx.resolveTarget();
    t.is(target.credentials.insecurePlaintext, undefined);
  }
});
