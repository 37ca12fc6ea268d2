// Bad input to the REST API, request by request with raw HTTPS: each answer
// is the Status kube-apiserver gives (its reason, code and message, from
// k8s.io/apiserver: transformDecodeError, negotiation's
// errUnsupportedMediaType, NewTooLargeResourceVersionError,
// NewRequestEntityTooLargeError, the NotFound of an unserved path), and the
// server keeps serving after each.

import test from 'ava';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import type { ClientCredentials } from '../client/connection';
import { CleanupStack } from './support/cleanups';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { restRequest, type RestAnswer, type RestCall } from './support/rest';

interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: { causes?: Array<{ reason?: string; message: string; field?: string }>; retryAfterSeconds?: number };
}

const cleanups = new CleanupStack();
let server: RunningApiServer;
let admin: ClientCredentials;

test.before(async () => {
  const etcd = await startTestEtcd(cleanups);
  const tls = await testTls();
  admin = tls.admin;
  server = await startApiServer({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    restAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  cleanups.push(() => server.stop());
  const keep = await rest('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'keep' }, data: { a: '1' } }) });
  if (keep.status !== 201) throw new Error(`creating the ConfigMap keep: ${keep.status} ${keep.text}`);
});

test.after.always(() => cleanups.run());

function rest(method: string, path: string, call: RestCall = {}): Promise<RestAnswer> {
  return restRequest(server.restAddress!, admin, method, path, call);
}

/** The answer's Status, checked to be a Failure of `code` and `reason`. */
function failure(t: { is(a: unknown, b: unknown, m?: string): void }, a: RestAnswer, code: number, reason: string): StatusBody {
  t.is(a.status, code, a.text);
  t.is(a.headers['content-type'], 'application/json');
  const s = JSON.parse(a.text) as StatusBody;
  t.is(s.kind, 'Status');
  t.is(s.apiVersion, 'v1');
  t.is(s.status, 'Failure');
  t.is(s.reason, reason);
  t.is(s.code, code);
  return s;
}

/** The server still reads, lists and writes. */
async function stillServes(t: { is(a: unknown, b: unknown, m?: string): void }): Promise<void> {
  t.is((await rest('GET', '/api/v1/namespaces/default/configmaps/keep')).status, 200, 'still serving a get');
  t.is((await rest('GET', '/api/v1/namespaces/default/configmaps?limit=1')).status, 200, 'still serving a list');
  const patched = await rest('PATCH', '/api/v1/namespaces/default/configmaps/keep', {
    body: '{"data":{"a":"2"}}',
    contentType: 'application/merge-patch+json',
  });
  t.is(patched.status, 200, 'still serving a write');
}

test.serial('malformed JSON is a 400 BadRequest naming the type expected and quoting the body', async (t) => {
  const before = (JSON.parse((await rest('GET', '/api/v1/namespaces/default/configmaps/keep')).text) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  const truncated = '{"apiVersion": "v1", "kind": ';
  const created = failure(t, await rest('POST', '/api/v1/namespaces/default/pods', { body: truncated }), 400, 'BadRequest');
  t.regex(
    created.message,
    /^the object provided is unrecognized \(must be of type Pod\): couldn't get version\/kind; json parse error: .+ \(\{"apiVersion": "v1", "kind": \)$/,
  );

  const long = `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {`;
  const replaced = failure(t, await rest('PUT', '/api/v1/namespaces/default/configmaps/keep', { body: long }), 400, 'BadRequest');
  t.regex(replaced.message, /^the object provided is unrecognized \(must be of type ConfigMap\): .* \(\{"apiVersion": "v1", "kind": " \.\.\.\)$/);

  const array = failure(t, await rest('POST', '/api/v1/namespaces/default/configmaps', { body: '[1, 2]' }), 400, 'BadRequest');
  t.regex(array.message, /^the object provided is unrecognized \(must be of type ConfigMap\): .*array.* \(5b312c20325d\)$/);

  const options = failure(t, await rest('DELETE', '/api/v1/namespaces/default/configmaps/keep', { body: '{"kind": "DeleteOptions", ' }), 400, 'BadRequest');
  t.regex(options.message, /^the object provided is unrecognized \(must be of type DeleteOptions\): /);

  const yaml = failure(
    t,
    await rest('POST', '/api/v1/namespaces/default/configmaps', { body: 'metadata: {name: [', contentType: 'application/yaml' }),
    400,
    'BadRequest',
  );
  t.regex(yaml.message, /^the object provided is unrecognized \(must be of type ConfigMap\): error converting YAML to JSON: /);

  const mergeBody = failure(
    t,
    await rest('PATCH', '/api/v1/namespaces/default/configmaps/keep', { body: '{"data": ', contentType: 'application/merge-patch+json' }),
    400,
    'BadRequest',
  );
  t.is(mergeBody.message, 'Invalid JSON Patch', "json-patch's words, as Kubernetes");
  failure(
    t,
    await rest('PATCH', '/api/v1/namespaces/default/configmaps/keep', { body: '{"op": "add"}', contentType: 'application/json-patch+json' }),
    400,
    'BadRequest',
  );
  const after = (JSON.parse((await rest('GET', '/api/v1/namespaces/default/configmaps/keep')).text) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  t.is(after, before, 'nothing was written');
  await stillServes(t);
});

test.serial('a body in a media type the server does not decode, and a PATCH of a type that is no patch, are 415 UnsupportedMediaType', async (t) => {
  const plain = failure(
    t,
    await rest('POST', '/api/v1/namespaces/default/configmaps', { body: 'name=x', contentType: 'text/plain' }),
    415,
    'UnsupportedMediaType',
  );
  t.is(plain.message, 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  const protobuf = failure(
    t,
    await rest('POST', '/api/v1/namespaces/default/configmaps', {
      body: Buffer.from([0x6b, 0x38, 0x73, 0x00]),
      contentType: 'application/vnd.kubernetes.protobuf',
    }),
    415,
    'UnsupportedMediaType',
  );
  t.is(protobuf.message, plain.message);

  // kubectl and client libraries must name the patch type: plain JSON is none of them.
  const patchTypes =
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml';
  for (const contentType of ['application/json', 'application/yaml', 'application/x-bogus-patch']) {
    const patch = failure(
      t,
      await rest('PATCH', '/api/v1/namespaces/default/configmaps/keep', { body: '{"data":{"a":"x"}}', contentType }),
      415,
      'UnsupportedMediaType',
    );
    t.is(patch.message, patchTypes, contentType);
  }
  // The type is checked before the object is read: an absent object's patch of no patch type is a 415 too, as in Kubernetes.
  const absent = failure(
    t,
    await rest('PATCH', '/api/v1/namespaces/default/configmaps/never-created', { body: '{"data":{"a":"x"}}', contentType: 'application/json' }),
    415,
    'UnsupportedMediaType',
  );
  t.is(absent.message, patchTypes);
  await stillServes(t);
});

test.serial('an unknown resource, group, version or subresource is a 404 NotFound Status', async (t) => {
  for (const path of [
    '/api/v1/namespaces/default/widgets',
    '/api/v1/widgets/w',
    '/apis/example.com/v1/widgets',
    '/apis/coordination.k8s.io/v2/leases',
    '/api/v2/pods',
    '/api/v1/namespaces/default/configmaps/keep/bogus',
    '/api/v1/namespaces/default/nodes',
    '/no/such/path',
  ]) {
    const s = failure(t, await rest('GET', path), 404, 'NotFound');
    t.is(s.message, 'the server could not find the requested resource', path);
  }
  const missing = failure(t, await rest('GET', '/api/v1/namespaces/default/configmaps/nobody'), 404, 'NotFound');
  t.is(missing.message, 'configmaps "nobody" not found');
  t.deepEqual(missing.details, { name: 'nobody', kind: 'configmaps' });
  await stillServes(t);
});

test.serial('a watch or list from a far-future resourceVersion is the 504 "Too large resource version" Timeout, with a retry after a second', async (t) => {
  const current = Number(
    (JSON.parse((await rest('GET', '/api/v1/namespaces/default/configmaps')).text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
  );
  const far = current + 1_000_000;
  for (const path of [`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${far}`, `/api/v1/configmaps?resourceVersion=${far}`]) {
    const started = Date.now();
    const a = await rest('GET', path);
    const s = failure(t, a, 504, 'Timeout');
    t.true(Date.now() - started >= 2500, 'it waited for the revision first (3 s, as Kubernetes)');
    t.regex(s.message, new RegExp(`^Timeout: Too large resource version: ${far}, current: \\d+$`));
    t.deepEqual(s.details, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
    t.is(a.headers['retry-after'], '1');
  }
  // A revision reached while the watch waits is served.
  const soon = current + 2;
  const pending = rest('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${soon}&timeoutSeconds=2`);
  for (const name of ['soon-1', 'soon-2', 'soon-3'])
    t.is((await rest('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name } }) })).status, 201);
  const served = await pending;
  t.is(served.status, 200, served.text);
  t.regex(served.text, /"type":"ADDED".*"name":"soon-3"/);
  await stillServes(t);
});

test.serial('a body over 3 MiB is a 413 RequestEntityTooLarge with the limit, however it is sent', async (t) => {
  const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { x: 'y'.repeat(3 * 1024 * 1024) } });
  const calls: Array<[string, string, RestCall]> = [
    ['POST', '/api/v1/namespaces/default/configmaps', { body: big }],
    ['POST', '/api/v1/namespaces/default/configmaps', { body: big, chunked: true }],
    ['PUT', '/api/v1/namespaces/default/configmaps/keep', { body: big }],
    ['PATCH', '/api/v1/namespaces/default/configmaps/keep', { body: big, contentType: 'application/merge-patch+json' }],
  ];
  for (const [method, path, call] of calls) {
    const s = failure(t, await rest(method, path, call), 413, 'RequestEntityTooLarge');
    t.is(s.message, 'Request entity too large: limit is 3145728', `${method}${call.chunked ? ' chunked' : ''}`);
  }
  t.is((await rest('GET', '/api/v1/namespaces/default/configmaps/big')).status, 404, 'nothing stored');
  await stillServes(t);
});

test.serial('bad query parameters are a 400 naming the parameter', async (t) => {
  t.is(failure(t, await rest('GET', '/api/v1/configmaps?limit=ten'), 400, 'BadRequest').message, 'limit: "ten" must be a non-negative integer');
  t.is(failure(t, await rest('GET', '/api/v1/configmaps?watch=maybe'), 400, 'BadRequest').message, 'watch: "maybe" must be true or false');
  t.is(
    failure(t, await rest('GET', '/api/v1/configmaps?watch=true&resourceVersion=abc'), 400, 'BadRequest').message,
    'resourceVersion: "abc" must be a decimal number',
  );
  await stillServes(t);
});
