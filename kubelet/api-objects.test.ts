// The kubelet's ConfigMap/Secret getter: NotFound is "none", a fetched object
// is reused for the TTL, a failure is not kept.

import test from 'ava';
import { NotFoundError, UnavailableError } from '../api/errors';
import type { ConfigMap, Secret } from '../api/gen/tsk/v1/core';
import { FakeClock } from '../client';
import { cachedObjectGetter, fetchObjects } from './api-objects';

class Counting<T> {
  gets = 0;
  fail: Error | undefined;
  constructor(readonly objects: Map<string, T>) {}
  async get(name: string, namespace?: string): Promise<T> {
    this.gets++;
    if (this.fail) throw this.fail;
    const o = this.objects.get(`${namespace ?? ''}/${name}`);
    if (!o) throw new NotFoundError('ConfigMap', name);
    return o;
  }
}

test('objects are reused within the TTL, asked again after it; NotFound is undefined; failures are not cached', async (t) => {
  const clock = new FakeClock(0);
  const configMaps = new Counting<ConfigMap>(new Map([['ns/a', { data: { k: '1' } }]]));
  const secrets = new Counting<Secret>(new Map());
  const getter = cachedObjectGetter({ configMaps, secrets }, clock, 5_000);
  t.deepEqual(await getter.configMap('ns', 'a'), { data: { k: '1' } });
  configMaps.objects.set('ns/a', { data: { k: '2' } });
  t.deepEqual(await getter.configMap('ns', 'a'), { data: { k: '1' } }, 'within the TTL');
  t.is(configMaps.gets, 1);
  await clock.advance(5_000);
  t.deepEqual(await getter.configMap('ns', 'a'), { data: { k: '2' } }, 'after the TTL');
  t.is(await getter.secret('ns', 'missing'), undefined);
  secrets.fail = new UnavailableError('down');
  await t.throwsAsync(() => getter.secret('ns', 'other'), { instanceOf: UnavailableError });
  secrets.fail = undefined;
  t.is(await getter.secret('ns', 'other'), undefined, 'the failure was not kept');
  const both = await fetchObjects(getter, 'ns', { configMaps: ['a', 'a', 'zz'], secrets: [] });
  t.deepEqual([...both.configMaps.keys()], ['a', 'zz']);
  t.is(both.configMaps.get('zz'), undefined);
});
