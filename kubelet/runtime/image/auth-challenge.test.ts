import test from 'ava';
import { parseChallenges, pickChallenge } from './auth-challenge';

test('parses the Docker Hub bearer challenge', (t) => {
  const c = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
  t.deepEqual(c, [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
});

test('parses basic, unquoted values, escapes and spaces', (t) => {
  t.deepEqual(parseChallenges('Basic realm="tsk test"'), [{ scheme: 'basic', params: { realm: 'tsk test' } }]);
  t.deepEqual(parseChallenges('Bearer realm=https://a/token , service = reg, error="invalid_token"'), [
    { scheme: 'bearer', params: { realm: 'https://a/token', service: 'reg', error: 'invalid_token' } },
  ]);
  t.deepEqual(parseChallenges('Basic realm="a \\"quoted\\" realm"'), [{ scheme: 'basic', params: { realm: 'a "quoted" realm' } }]);
});

test('several challenges in one header; bearer preferred', (t) => {
  const c = parseChallenges('Basic realm="r1", Bearer realm="https://t/token",scope="repository:x:pull"');
  t.is(c.length, 2);
  t.is(c[0]?.scheme, 'basic');
  t.is(c[1]?.params['scope'], 'repository:x:pull');
  t.is(pickChallenge(c)?.scheme, 'bearer');
});

test('unknown or empty challenges', (t) => {
  t.deepEqual(parseChallenges(''), []);
  t.is(pickChallenge(parseChallenges('Negotiate')), undefined);
});
