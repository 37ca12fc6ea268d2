import test from 'ava';
import { ConflictError, NotFoundError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { KINDS, type ApiObject, type ListOf } from '../../api/kinds';
import type { ResourceClient, Watch } from '../../client';
import { LAST_APPLIED, applyObject, planUpdate } from './apply';
import type { JsonMap } from '../../api/patch/merge';

/** A one-object server: resourceVersion checks, defaulting, and an optional concurrent writer. */
class FakePods implements ResourceClient<ApiObject> {
  readonly info = KINDS.Pod as unknown as ResourceClient<ApiObject>['info'];
  stored: Pod | undefined;
  rv = 1;
  updates = 0;
  creates = 0;
  /** Called before an update is checked: lets a test simulate another writer. */
  beforeUpdate: (() => void) | undefined;

  private save(p: Pod): Pod {
    this.rv++;
    const containers = (p.spec?.containers ?? []).map((c) => ({ ...c, imagePullPolicy: c.imagePullPolicy || 'IfNotPresent' }));
    this.stored = {
      ...p,
      metadata: { ...p.metadata, uid: 'uid-1', resourceVersion: String(this.rv) },
      spec: { ...p.spec, containers },
      status: { phase: 'Pending' },
    };
    return this.stored;
  }
  async create(o: ApiObject): Promise<ApiObject> {
    this.creates++;
    return this.save(o as Pod);
  }
  async get(name: string): Promise<ApiObject> {
    if (!this.stored) throw new NotFoundError('Pod', name);
    return structuredClone(this.stored);
  }
  async update(o: ApiObject): Promise<ApiObject> {
    this.beforeUpdate?.();
    if (o.metadata?.resourceVersion !== this.stored?.metadata?.resourceVersion) throw new ConflictError('the object has been modified');
    this.updates++;
    return this.save({ ...(o as Pod), status: this.stored?.status });
  }
  list(): Promise<ListOf<ApiObject>> {
    throw new Error('unused');
  }
  listAll(): Promise<ListOf<ApiObject>> {
    throw new Error('unused');
  }
  updateStatus(): Promise<ApiObject> {
    throw new Error('unused');
  }
  delete(): Promise<ApiObject> {
    throw new Error('unused');
  }
  watch(): Watch<ApiObject> {
    throw new Error('unused');
  }
}

const config = (labels: Record<string, string>, image = 'busybox'): JsonMap => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels },
  spec: { containers: [{ name: 'web', image }] },
});

test('created, then unchanged, then configured; a removed label disappears', async (t) => {
  const pods = new FakePods();
  t.is(await applyObject('Pod', pods, config({ app: 'web', tier: 'front' })), 'created');
  t.truthy(pods.stored?.metadata?.annotations?.[LAST_APPLIED]);
  t.is(await applyObject('Pod', pods, config({ app: 'web', tier: 'front' })), 'unchanged');
  t.is(pods.updates, 0);
  t.is(await applyObject('Pod', pods, config({ app: 'web' })), 'configured');
  t.deepEqual(pods.stored?.metadata?.labels, { app: 'web' });
  t.is(pods.stored?.spec?.containers?.[0]?.imagePullPolicy, 'IfNotPresent', 'defaults kept');
  t.is(pods.stored?.metadata?.uid, 'uid-1');
  t.is(await applyObject('Pod', pods, config({ app: 'web' })), 'unchanged');
});

test("a conflict re-reads and re-merges: the other writer's change survives", async (t) => {
  const pods = new FakePods();
  await applyObject('Pod', pods, config({ app: 'web' }));
  let raced = false;
  pods.beforeUpdate = () => {
    if (raced) return;
    raced = true;
    // Another writer adds a label between our read and our update.
    const s = pods.stored as Pod;
    pods.rv++;
    pods.stored = { ...s, metadata: { ...s.metadata, labels: { ...s.metadata?.labels, owner: 'ops' }, resourceVersion: String(pods.rv) } };
  };
  t.is(await applyObject('Pod', pods, config({ app: 'web' }, 'busybox:1.36')), 'configured');
  t.deepEqual(pods.stored?.metadata?.labels, { app: 'web', owner: 'ops' });
  t.is(pods.stored?.spec?.containers?.[0]?.image, 'busybox:1.36');
});

test('conflicts that never end give up with the ConflictError', async (t) => {
  const pods = new FakePods();
  await applyObject('Pod', pods, config({ app: 'web' }));
  pods.beforeUpdate = () => {
    pods.rv++;
    pods.stored = { ...(pods.stored as Pod), metadata: { ...pods.stored?.metadata, resourceVersion: String(pods.rv) } };
  };
  await t.throwsAsync(applyObject('Pod', pods, config({ app: 'x' }), { maxConflictRetries: 2 }), { instanceOf: ConflictError });
});

test('planUpdate is undefined when nothing would change', (t) => {
  const live: JsonMap = {
    ...config({ app: 'web' }),
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, uid: 'u', annotations: { [LAST_APPLIED]: JSON.stringify(config({ app: 'web' })) } },
  };
  t.is(planUpdate('Pod', config({ app: 'web' }), live), undefined);
  t.truthy(planUpdate('Pod', config({ app: 'other' }), live));
});
