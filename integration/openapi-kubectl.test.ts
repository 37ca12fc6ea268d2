// Debian's real kubectl reads tsk's OpenAPI documents: `kubectl explain`
// walks the v3 group/version documents, and `kubectl apply --validate=strict`
// finds in them that the kind's PATCH takes fieldValidation, so it asks the
// server to validate (fieldValidation=Strict) instead of validating itself.
// The REST server proper is another module; this test serves only the
// OpenAPI documents and the discovery kubectl needs before it reads them, on
// a loopback port, and records what kubectl asks.

import test from 'ava';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KINDS, KIND_NAMES } from '../api/kinds';
import { openapiDocument } from '../apiserver/rest/openapi';
import { tempDir } from './support/temp';

const execFileAsync = promisify(execFile);

const kinds = KIND_NAMES.map((n) => KINDS[n]);
const resources = (gv: string): object => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: gv,
  resources: kinds
    .filter((k) => k.apiVersion === gv)
    .map((k) => ({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: k.shortNames,
    })),
});
const discovery: Record<string, object> = {
  '/version': { major: '1', minor: '30', gitVersion: 'v1.30.0' },
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [
      {
        name: 'coordination.k8s.io',
        versions: [{ groupVersion: 'coordination.k8s.io/v1', version: 'v1' }],
        preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' },
      },
    ],
  },
  '/api/v1': resources('v1'),
  '/apis/coordination.k8s.io/v1': resources('coordination.k8s.io/v1'),
};

interface Served {
  readonly kubeconfig: string;
  readonly requests: string[];
}

async function serve(t: import('ava').ExecutionContext): Promise<Served> {
  const requests: string[] = [];
  const reply = (res: ServerResponse, code: number, body: object): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    requests.push(`${req.method} ${url}`);
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const doc = discovery[path] ?? (path.startsWith('/openapi/') ? openapiDocument(url) : undefined);
      if (doc && req.method === 'GET') return reply(res, 200, doc);
      // The one write kubectl apply makes here: the create, answered with the object.
      if (req.method === 'POST' && path === '/api/v1/namespaces/default/pods') return reply(res, 201, JSON.parse(Buffer.concat(body).toString()) as object);
      reply(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const dir = tempDir(t, 'tsk-openapi-');
  const kubeconfig = join(dir, 'kubeconfig');
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: t, context: {cluster: t, user: u}}]\ncurrent-context: t\n`,
  );
  return { kubeconfig, requests };
}

async function kubectl(s: Served, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.kubeconfig, '..', 'cache'), ...args], {
    timeout: 120_000,
  });
  return stdout;
}

test('kubectl explain pod.spec.containers and lease.spec read the v3 documents', async (t) => {
  const s = await serve(t);
  const containers = await kubectl(s, 'explain', 'pod.spec.containers');
  t.regex(containers, /^KIND:\s+Pod$/m);
  t.regex(containers, /^VERSION:\s+v1$/m);
  t.regex(containers, /^FIELD: containers <\[\]Container>$/m);
  t.regex(containers, /^ {2}name\t<string> -required-$/m);
  t.regex(containers, /^ {2}ports\t<\[\]ContainerPort>$/m);
  t.regex(containers, /^ {2}resources\t<ResourceRequirements>$/m);
  // The proto comments are the descriptions.
  t.regex(containers, /^ {2}imagePullPolicy\t<string>\n {4}Always, IfNotPresent or Never; defaulted from the image's tag\.$/m);
  t.true(s.requests.some((r) => r.startsWith('GET /openapi/v3/api/v1?hash=')));
  const lease = await kubectl(s, 'explain', 'lease.spec');
  t.regex(lease, /^GROUP:\s+coordination\.k8s\.io$/m);
  t.regex(lease, /^ {2}holderIdentity\t<string>$/m);
});

test('kubectl apply --validate=strict hands validation to the server (fieldValidation=Strict)', async (t) => {
  const s = await serve(t);
  const manifest = join(s.kubeconfig, '..', 'pod.yaml');
  writeFileSync(manifest, 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  containers: [{name: c, image: nginx}]\n');
  const out = await kubectl(s, 'apply', '--validate=strict', '-f', manifest);
  t.regex(out, /pod\/web created/);
  t.true(
    s.requests.some((r) => r.startsWith('POST /api/v1/namespaces/default/pods?') && r.includes('fieldValidation=Strict')),
    s.requests.join('\n'),
  );
});
