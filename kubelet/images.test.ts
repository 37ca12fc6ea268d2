// ImagePuller with imagePullSecrets: each credential in turn until the
// registry accepts one (Kubernetes' keyring order), the last auth failure
// otherwise, and no password in any message.

import test from 'ava';
import { ImagePuller, ImagePullError, type ImageService } from './images';
import { RegistryAuthError } from './runtime/image/errors';
import type { PullOptions } from './runtime/image/store';
import type { ImageRecord } from './runtime/image/types';

class AuthRegistry implements ImageService {
  readonly tried: string[] = [];
  constructor(private readonly accepts: string) {}
  async get(): Promise<ImageRecord | undefined> {
    return undefined;
  }
  async pull(ref: string, opts?: PullOptions): Promise<ImageRecord> {
    const user = opts?.auth?.username ?? '';
    this.tried.push(user);
    if (user !== this.accepts) throw new RegistryAuthError('r.example', 'access denied with the given credentials (HTTP 401)');
    return {
      id: 'sha256:1',
      references: [ref],
      config: { entrypoint: [], cmd: [], env: [], workingDir: '', user: '', exposedPorts: [], labels: {} },
      layerDirs: [],
      size: 1,
      created: '',
    };
  }
}

const opts = { now: () => 0, log: () => undefined };
const creds = [
  { username: 'old', password: 'old-secret' },
  { username: 'new', password: 'new-secret' },
];

test('credentials are tried in order until one is accepted', async (t) => {
  const registry = new AuthRegistry('new');
  const rec = await new ImagePuller(registry, opts).ensure('r.example/app:1', 'IfNotPresent', 'pod', () => undefined, creds);
  t.is(rec.id, 'sha256:1');
  t.deepEqual(registry.tried, ['old', 'new']);
});

test('every credential refused: ErrImagePull with the registry message, never a password', async (t) => {
  const registry = new AuthRegistry('nobody');
  const events: string[] = [];
  const err = await t.throwsAsync(
    new ImagePuller(registry, opts).ensure('r.example/app:1', 'IfNotPresent', 'pod', (_, r, m) => events.push(`${r} ${m}`), creds),
    { instanceOf: ImagePullError },
  );
  t.is(err?.reason, 'ErrImagePull');
  t.regex(err?.message ?? '', /authentication with registry r.example failed/);
  t.false([err?.message ?? '', ...events].some((m) => m.includes('secret')));
  t.deepEqual(registry.tried, ['old', 'new']);
});

test('no credentials: one anonymous pull', async (t) => {
  const registry = new AuthRegistry('');
  await new ImagePuller(registry, opts).ensure('r.example/app:1', 'IfNotPresent', 'pod', () => undefined);
  t.deepEqual(registry.tried, ['']);
});
