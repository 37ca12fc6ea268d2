import test from 'ava';
import { expandSubPathExpr, mountSubPath } from './subpath';

const vars = new Map([
  ['POD_NAME', 'web-1'],
  ['EMPTY', ''],
]);

test('subPathExpr: $(VAR) from the environment, $$ escapes, plain text kept', (t) => {
  t.is(expandSubPathExpr('logs/$(POD_NAME)', vars), 'logs/web-1');
  t.is(expandSubPathExpr('$$(POD_NAME)-$x-$', vars), '$(POD_NAME)-$x-$');
  t.is(expandSubPathExpr('no-refs', vars), 'no-refs');
});

test('subPathExpr: an undefined or empty variable is an error naming each one, as Kubernetes', (t) => {
  t.throws(() => expandSubPathExpr('$(NOPE)/$(EMPTY)/$(NOPE)', vars), { message: 'missing value for EMPTY, NOPE' });
});

test('mountSubPath: subPath as written, subPathExpr expanded, both checked for absolute paths and ".."', (t) => {
  t.is(mountSubPath({ name: 'v' }, vars), '');
  t.is(mountSubPath({ name: 'v', subPath: 'a/b' }, vars), 'a/b');
  t.is(mountSubPath({ name: 'v', subPathExpr: '$(POD_NAME)' }, vars), 'web-1');
  t.is(mountSubPath({ name: 'v', subPath: 'a..b/c' }, vars), 'a..b/c', '".." only as a whole component');
  t.throws(() => mountSubPath({ name: 'v', subPath: '/etc' }, vars), { message: 'error SubPath `/etc` must not be an absolute path' });
  t.throws(() => mountSubPath({ name: 'v', subPathExpr: '$(POD_NAME)/../..' }, vars), {
    message: "unable to provision SubPath `web-1/../..`: must not contain '..'",
  });
});
