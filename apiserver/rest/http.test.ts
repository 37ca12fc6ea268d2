import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../../api/codec';
import { sendJsonList } from './http';

/** What a client reads from sendJsonList(head, count, item) over real HTTP. */
async function fetchList(count: number, item: (i: number) => JsonObject): Promise<{ body: string; headers: Headers }> {
  const server = createServer((_req, res) => void sendJsonList(res, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' } }, count, item));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { body: await res.text(), headers: res.headers };
  } finally {
    server.close();
  }
}

test('a streamed list is the JSON of the whole list, in chunks', async (t) => {
  const item = (i: number): JsonObject => ({ metadata: { name: `pod-${i}` }, spec: { text: 'x'.repeat(500) } });
  const { body, headers } = await fetchList(1000, item);
  t.is(headers.get('transfer-encoding'), 'chunked');
  t.is(headers.get('content-type'), 'application/json');
  t.is(body, JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: Array.from({ length: 1000 }, (_, i) => item(i)) }));
});

test('an empty list has an empty items array', async (t) => {
  const { body } = await fetchList(0, () => ({}));
  t.deepEqual(JSON.parse(body), { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [] });
});
