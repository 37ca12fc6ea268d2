import test from 'ava';
import { parseTokenCommand, UsageError } from './token-flags';
import { tokenRows } from './token-table';

const FULL = `K10${'a'.repeat(64)}::abcdef.0123456789abcdef`;

test('tsk token create: --ttl default 24h, 0 never, --description', (t) => {
  t.deepEqual(parseTokenCommand(['create']), {
    verb: 'create',
    ttlSeconds: 86_400,
    description: '',
    server: undefined,
    kubeconfig: undefined,
    context: undefined,
    help: false,
  });
  t.like(parseTokenCommand(['create', '--ttl', '0']), { ttlSeconds: 0 });
  t.like(parseTokenCommand(['create', '--ttl=1h30m', '--description', 'rack 2']), { ttlSeconds: 5400, description: 'rack 2' });
  t.like(parseTokenCommand(['create', '--server', 'https://10.0.0.1:6443', '--kubeconfig', '/var/lib/tsk/admin.conf', '--context', 'c']), {
    server: '10.0.0.1:6443',
    kubeconfig: '/var/lib/tsk/admin.conf',
    context: 'c',
  });
  t.throws(() => parseTokenCommand(['create', '--ttl', 'soon']), { instanceOf: UsageError, message: /--ttl: "soon" is not a duration/ });
  t.throws(() => parseTokenCommand(['create', '--ttl', '10ms']), {
    instanceOf: UsageError,
    message: /--ttl: "10ms" must be 0 \(never expires\) or at least 1s/,
  });
  t.throws(() => parseTokenCommand(['create', 'extra']), { instanceOf: UsageError, message: /takes no arguments/ });
  t.throws(() => parseTokenCommand(['create', '--nope']), { instanceOf: UsageError, message: /--nope/ });
});

test('tsk token delete takes ids or whole tokens; list takes nothing', (t) => {
  t.like(parseTokenCommand(['delete', 'abcdef', FULL]), { verb: 'delete', ids: ['abcdef', 'abcdef'] });
  t.throws(() => parseTokenCommand(['delete']), { instanceOf: UsageError, message: /needs a token ID or a token/ });
  t.throws(() => parseTokenCommand(['delete', 'ABC']), { instanceOf: UsageError, message: /"ABC" is not a token ID or a token/ });
  t.like(parseTokenCommand(['list']), { verb: 'list' });
  t.throws(() => parseTokenCommand(['list', 'x']), { instanceOf: UsageError });
  t.throws(() => parseTokenCommand(['rotate']), { instanceOf: UsageError, message: /unknown command "rotate"/ });
  t.deepEqual(parseTokenCommand([]), { verb: 'help' });
});

test("tsk token list: kubeadm's columns and words", (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const rows = tokenRows(
    [
      { id: 'aaaaaa', expires: '', usages: ['authentication', 'control-plane'], description: 'the server token' },
      { id: 'bbbbbb', expires: '2026-01-02T00:00:00.000Z', usages: ['authentication'], description: '' },
      { id: 'cccccc', expires: '2025-12-31T00:00:00.000Z', usages: ['authentication'], description: 'old' },
    ],
    now,
  );
  t.deepEqual(rows, [
    ['TOKEN ID', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION'],
    ['aaaaaa', '<forever>', '<never>', 'authentication,control-plane', 'the server token'],
    ['bbbbbb', '24h', '2026-01-02T00:00:00.000Z', 'authentication', '<none>'],
    ['cccccc', '<invalid>', '2025-12-31T00:00:00.000Z', 'authentication', 'old'],
  ]);
});
