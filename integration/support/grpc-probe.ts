// A probe run inside another network namespace (the test process cannot
// enter one: `nsenter --net=... node grpc-probe.js SPEC.json`): it makes each
// call of the spec against the API server with the credentials given, and
// prints one JSON array with how every call ended. Tests assert on that.

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import { ApiError } from '../../api/errors';
import * as apiGen from '../../api/gen/tsk/v1/api';
import type { ExecServerMessage } from '../../api/gen/tsk/v1/stream';
import { channelCredentials, type ClientCredentials } from '../../client';
import { errorMessage } from '../../util/errors';
import { RawKindClient } from './apiserver';
import { openTunnel, streamEnd } from './streams';

export type ProbeOp =
  | { op: 'version' }
  | { op: 'list-pods'; namespace: string }
  | { op: 'update-node'; name: string }
  | { op: 'update-node-status'; name: string }
  | { op: 'update-pod'; namespace: string; name: string }
  | { op: 'update-pod-status'; namespace: string; name: string }
  | { op: 'create-pod'; namespace: string; name: string }
  | { op: 'exec'; namespace: string; name: string }
  | { op: 'tunnel'; node: string };

export interface ProbeCheck {
  name: string;
  credentials: ClientCredentials;
  call: ProbeOp;
}

export interface ProbeSpec {
  /** HOST:PORT of the API server. */
  address: string;
  checks: ProbeCheck[];
}

export interface ProbeResult {
  name: string;
  ok: boolean;
  /** The gRPC status code and message of a refused call. */
  code?: number;
  reason?: string;
  message?: string;
}

const DEADLINE_MS = 15_000;

/** The version call of the discovery service (any authenticated user may make it). */
function version(client: grpc.Client): Promise<void> {
  const m = apiGen.DiscoveryService.version;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, { deadline: Date.now() + DEADLINE_MS }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

async function exec(client: grpc.Client, namespace: string, name: string): Promise<void> {
  const m = apiGen.PodServiceService.exec;
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {
    deadline: Date.now() + DEADLINE_MS,
  }) as grpc.ClientDuplexStream<unknown, ExecServerMessage>;
  call.write({ start: { namespace, name, command: ['true'] } });
  const end = await streamEnd(call);
  if (end !== undefined) throw end;
}

async function tunnel(client: grpc.Client, node: string): Promise<void> {
  const { call, first } = openTunnel(client, node);
  const answer = await first;
  call.cancel();
  if (answer instanceof ApiError) throw answer;
}

async function perform(client: grpc.Client, op: ProbeOp): Promise<void> {
  const nodes = new RawKindClient(client, 'Node');
  const pods = new RawKindClient(client, 'Pod');
  switch (op.op) {
    case 'version':
      return version(client);
    case 'list-pods':
      await pods.list({ namespace: op.namespace });
      return;
    case 'update-node': {
      const n = await nodes.get('', op.name);
      await nodes.update({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata?.labels, taken: 'yes' } } });
      return;
    }
    case 'update-node-status': {
      const n = await nodes.get('', op.name);
      await nodes.updateStatus({ ...n, status: { ...n.status, conditions: [{ type: 'Ready', status: 'False', reason: 'Taken' }] } });
      return;
    }
    case 'update-pod': {
      const p = await pods.get(op.namespace, op.name);
      await pods.update({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata?.labels, taken: 'yes' } } });
      return;
    }
    case 'update-pod-status': {
      const p = await pods.get(op.namespace, op.name);
      await pods.updateStatus({ ...p, status: { ...p.status, phase: 'Failed' } });
      return;
    }
    case 'create-pod':
      await pods.create({ metadata: { name: op.name, namespace: op.namespace }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
      return;
    case 'exec':
      return exec(client, op.namespace, op.name);
    case 'tunnel':
      return tunnel(client, op.node);
  }
}

async function check(address: string, c: ProbeCheck): Promise<ProbeResult> {
  let client: grpc.Client | undefined;
  try {
    client = new grpc.Client(address, channelCredentials(c.credentials, address));
    await perform(client, c.call);
    return { name: c.name, ok: true };
  } catch (err) {
    if (err instanceof ApiError) return { name: c.name, ok: false, code: err.grpcCode, reason: err.reason, message: err.message };
    const status = err as Partial<grpc.ServiceError>;
    return { name: c.name, ok: false, code: status.code, message: status.details ?? errorMessage(err) };
  } finally {
    client?.close();
  }
}

async function main(file: string): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as ProbeSpec;
  const results: ProbeResult[] = [];
  for (const c of spec.checks) results.push(await check(spec.address, c));
  process.stdout.write(JSON.stringify(results));
}

if (require.main === module) {
  main(process.argv[2] ?? '').catch((err: unknown) => {
    console.error(`grpc-probe: ${errorMessage(err)}`);
    process.exit(1);
  });
}
