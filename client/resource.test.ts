import test from 'ava';
import { KINDS } from '../api/kinds';
import type { ListRequest } from '../api/gen/tsk/v1/meta';
import type { Pod, PodList } from '../api/gen/tsk/v1/core';
import type { Connection } from './connection';
import { DEFAULT_LIST_PAGE_SIZE, GrpcResourceClient } from './resource';

/** A connection whose List serves `total` pods in pages, as the server does, recording each request. */
function pagingConnection(total: number): { conn: Connection; requests: ListRequest[] } {
  const requests: ListRequest[] = [];
  const pods: Pod[] = Array.from({ length: total }, (_, i) => ({ metadata: { name: `p${i}`, namespace: 'default' } }));
  const conn = {
    unary(_method: unknown, req: ListRequest): Promise<PodList> {
      requests.push(req);
      const from = req.continue ? Number(req.continue) : 0;
      const to = req.limit ? Math.min(total, from + req.limit) : total;
      return Promise.resolve({ metadata: { resourceVersion: '42', continue: to < total ? String(to) : '' }, items: pods.slice(from, to) });
    },
  };
  return { conn: conn as unknown as Connection, requests };
}

test('listAll pages by client-go pager size when no limit is given, so no reply outgrows the channel', async (t) => {
  const { conn, requests } = pagingConnection(1_203);
  const all = await new GrpcResourceClient(KINDS.Pod, conn).listAll({ namespace: 'default' });
  t.is(all.items?.length, 1_203);
  t.is(new Set(all.items?.map((p) => p.metadata?.name)).size, 1_203);
  t.is(all.metadata?.resourceVersion, '42');
  t.is(all.metadata?.continue, '');
  t.deepEqual(
    requests.map((r) => [r.limit, r.continue]),
    [
      [DEFAULT_LIST_PAGE_SIZE, ''],
      [DEFAULT_LIST_PAGE_SIZE, '500'],
      [DEFAULT_LIST_PAGE_SIZE, '1000'],
    ],
  );
});

test("listAll keeps the caller's page size", async (t) => {
  const { conn, requests } = pagingConnection(20);
  t.is((await new GrpcResourceClient(KINDS.Pod, conn).listAll({ limit: 7 })).items?.length, 20);
  t.deepEqual(
    requests.map((r) => r.limit),
    [7, 7, 7],
  );
});
