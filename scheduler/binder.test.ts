import test from 'ava';
import { ConflictError, fromServiceError, NotFoundError, UnavailableError, type ApiError } from '../api/errors';
import { status as GrpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Pod } from '../api/gen/tsk/v1/core';
import type { BindRequestOf } from '../client';
import { BatchBinder, type BindApi } from './binder';

/** Records the calls; each pod's outcome comes from `outcome` (undefined: bound). */
class FakeApi implements BindApi {
  batches: string[][] = [];
  singles: string[] = [];
  batchError: ApiError | undefined;
  constructor(private readonly outcome: (name: string) => ApiError | undefined = () => undefined) {}

  async bind(_ns: string, name: string): Promise<Pod> {
    this.singles.push(name);
    const err = this.outcome(name);
    if (err) throw err;
    return {};
  }

  async bindBatch(requests: readonly BindRequestOf[]): Promise<(ApiError | undefined)[]> {
    this.batches.push(requests.map((r) => r.name));
    if (this.batchError) throw this.batchError;
    return requests.map((r) => this.outcome(r.name));
  }
}

const req = (name: string): BindRequestOf => ({ namespace: 'default', name, nodeName: 'n1', uid: `uid-${name}` });

/** Each promise's outcome: 'bound' or the error's class name. */
function outcomes(ps: Promise<void>[]): Promise<string[]> {
  return Promise.all(
    ps.map((p) =>
      p.then(
        () => 'bound',
        (err: unknown) => (err as Error).constructor.name,
      ),
    ),
  );
}

test('a full batch leaves at once; the rest waits for flush()', async (t) => {
  const api = new FakeApi();
  const binder = new BatchBinder(api, 2);
  const ps = [binder.bind(req('a')), binder.bind(req('b')), binder.bind(req('c'))];
  t.deepEqual(api.batches, [['a', 'b']]);
  t.is(binder.waiting, 1);
  binder.flush();
  t.deepEqual(await outcomes(ps), ['bound', 'bound', 'bound']);
  t.deepEqual(api.batches, [['a', 'b']], 'a lone pod goes as a single Bind');
  t.deepEqual(api.singles, ['c']);
});

test("one pod's conflict fails only that pod", async (t) => {
  const api = new FakeApi((name) =>
    name === 'b' ? new ConflictError('pod b is already assigned to node "n2"') : name === 'c' ? new NotFoundError('Pod', 'c') : undefined,
  );
  const binder = new BatchBinder(api, 10);
  const ps = ['a', 'b', 'c', 'd'].map((n) => binder.bind(req(n)));
  binder.flush();
  t.deepEqual(await outcomes(ps), ['bound', 'ConflictError', 'NotFoundError', 'bound']);
});

test('a failed call fails every pod of its batch with its error', async (t) => {
  const api = new FakeApi();
  api.batchError = new UnavailableError('connection lost');
  const binder = new BatchBinder(api, 10);
  const ps = ['a', 'b'].map((n) => binder.bind(req(n)));
  binder.flush();
  t.deepEqual(await outcomes(ps), ['UnavailableError', 'UnavailableError']);
  t.deepEqual(api.singles, []);
});

test('a server without BindBatch gets single Binds, from then on', async (t) => {
  const api = new FakeApi((name) => (name === 'b' ? new ConflictError('already assigned') : undefined));
  // What grpc-js answers for a method the server does not have.
  const unimplemented = Object.assign(new Error('12 UNIMPLEMENTED'), {
    code: GrpcStatus.UNIMPLEMENTED,
    details: 'The server does not implement the method /tsk.v1.PodService/BindBatch',
    metadata: new Metadata(),
  }) as ServiceError;
  api.batchError = fromServiceError(unimplemented);
  const logs: string[] = [];
  const binder = new BatchBinder(api, 10, (l) => logs.push(l));
  const first = ['a', 'b'].map((n) => binder.bind(req(n)));
  binder.flush();
  t.deepEqual(await outcomes(first), ['bound', 'ConflictError']);
  const second = ['c', 'd'].map((n) => binder.bind(req(n)));
  binder.flush();
  t.deepEqual(await outcomes(second), ['bound', 'bound']);
  t.deepEqual(api.batches, [['a', 'b']], 'asked once');
  t.deepEqual(api.singles, ['a', 'b', 'c', 'd']);
  t.is(logs.length, 1);
  t.regex(logs[0]!, /no BindBatch/);
});
