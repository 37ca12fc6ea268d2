import test from 'ava';
import { classifyLayerPath, cleanLayerPath } from './whiteout';

test('cleans entry names', (t) => {
  t.is(cleanLayerPath('./etc//passwd'), 'etc/passwd');
  t.is(cleanLayerPath('/bin/sh'), 'bin/sh');
  t.is(cleanLayerPath('./'), '');
  t.is(cleanLayerPath('a/../../etc'), undefined);
  t.is(cleanLayerPath('../x'), undefined);
});

test('maps whiteouts to overlayfs form', (t) => {
  t.deepEqual(classifyLayerPath('etc/.wh.passwd'), { kind: 'whiteout', path: 'etc/passwd' });
  t.deepEqual(classifyLayerPath('./.wh.tmp'), { kind: 'whiteout', path: 'tmp' });
  t.deepEqual(classifyLayerPath('var/lib/.wh..wh..opq'), { kind: 'opaque', dir: 'var/lib' });
  t.deepEqual(classifyLayerPath('.wh..wh..opq'), { kind: 'opaque', dir: '' });
  t.deepEqual(classifyLayerPath('.wh..wh.plnk/123'), { kind: 'entry', path: '.wh..wh.plnk/123' });
  t.deepEqual(classifyLayerPath('x/.wh..wh.aufs'), { kind: 'ignore' });
  t.deepEqual(classifyLayerPath('usr/bin/env'), { kind: 'entry', path: 'usr/bin/env' });
  t.deepEqual(classifyLayerPath('./'), { kind: 'root' });
  t.deepEqual(classifyLayerPath('a.wh.b'), { kind: 'entry', path: 'a.wh.b' });
});

test('refuses escaping and empty whiteouts', (t) => {
  t.throws(() => classifyLayerPath('../etc/passwd'), { message: /escapes the layer root/ });
  t.throws(() => classifyLayerPath('etc/.wh.'), { message: /whiteout without a valid name/ });
  t.throws(() => classifyLayerPath('etc/.wh...'), { message: /whiteout without a valid name/ });
});
