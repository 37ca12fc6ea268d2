// Event benchmark: what one Event costs the API server, and how fast a
// recorder gets a burst of them written. A `tsk server` with its embedded
// etcd (the scheduler and controllers idle: there are no pods), then
//  1. N Event creates through tsk's client library, 64 in flight, as the
//     kubelets' and controllers' recorders send them: creates/s and CPU ms
//     per create of the server, its etcd and this client;
//  2. 1,000 events of different pods (a recorder's queue) recorded at once
//     by one ApiEventRecorder (client/events.ts), as the scheduler records a
//     burst of bindings: the seconds until every one is written, and how
//     many were dropped.
// --cpu-prof DIR has the server write DIR/server.cpuprofile when it stops
// (node --cpu-prof: open it in Chrome's DevTools). Flags: --events N (default 10,000).
// Output: a table, then as the LAST line one JSON object with every figure.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Event } from '../api/gen/tsk/v1/core';
import { ApiEventRecorder, Clientset, resolveClient } from '../client';
import { errorMessage } from '../util/errors';
import { freePort } from '../util/free-port';
import { benchScope, startChild, benchServerArgs } from './child';
import { runPool } from './pool';
import { cpuSeconds, selfCpuSeconds } from './proc-cpu';

const CONCURRENCY = 64;
const WARMUP = 500;
/** Events of the recorder's burst: its default queue (maxQueue). */
const RECORDER_BURST = 1000;

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** The embedded etcd: the server's child running etcd (its pid), if found. */
function etcdPidOf(serverPid: number | undefined): number | undefined {
  if (serverPid === undefined) return undefined;
  try {
    const children = readFileSync(`/proc/${serverPid}/task/${serverPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('etcd'));
  } catch {
    return undefined;
  }
}

/** An Event as a kubelet writes one ("Started container"), about the size of the real ones. */
function kubeletEvent(i: number): Event {
  const pod = `bench-rc-${Math.floor(i / 30)}-${String(i).padStart(5, '0')}`;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    metadata: { name: `${pod}.${(Date.now() * 1_000_000 + i).toString(16)}`, namespace: 'default' },
    involvedObject: {
      kind: 'Pod',
      apiVersion: 'v1',
      namespace: 'default',
      name: pod,
      uid: `6f1c0f3e-8a0b-4b8e-9a5c-${String(i).padStart(12, '0')}`,
      resourceVersion: '',
      fieldPath: 'spec.containers{c}',
    },
    reason: 'Started',
    message: 'Started container c',
    source: { component: 'kubelet', host: `hollow-node-${i % 500}` },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    type: 'Normal',
    eventTime: '',
    action: '',
    reportingComponent: 'kubelet',
    reportingInstance: `hollow-node-${i % 500}`,
  };
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { events: { type: 'string', default: '10000' }, 'cpu-prof': { type: 'string' } } });
  if (!/^\d+$/.test(values.events)) throw new Error(`--events: "${values.events}" must be a non-negative integer`);
  const n = Number(values.events);
  if (values['cpu-prof'] !== undefined) mkdirSync(values['cpu-prof'], { recursive: true });
  const { dir, children, cleanup } = await benchScope('tsk-bench-events-');
  try {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const server = startChild([...benchServerArgs(join(dir, 'server'), grpcPort, httpPort)], undefined, {
      nodeFlags: values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`, '--cpu-prof-name=server.cpuprofile'],
    });
    children.push(server.child);
    await server.until(/scheduler running/, 120_000);
    await server.until(/wrote \S+admin\.conf/, 30_000);
    const etcdPid = etcdPidOf(server.child.pid);
    const target = await resolveClient({ kubeconfig: join(dir, 'server', 'admin.conf'), server: `127.0.0.1:${grpcPort}` });
    const cs = new Clientset(target.server, target.credentials);
    try {
      await runPool(WARMUP, CONCURRENCY, async (i) => void (await cs.events.create(kubeletEvent(n + i))), 'warm-up');

      // 1. Event creates, 64 in flight.
      const cpu0 = { server: cpuSeconds(server.child.pid), etcd: cpuSeconds(etcdPid), client: selfCpuSeconds() };
      const createS = await runPool(n, CONCURRENCY, async (i) => void (await cs.events.create(kubeletEvent(i))), 'creates');
      const perCreate = (now: number, before: number): number => ((now - before) * 1000) / Math.max(1, n);
      const serverMs = perCreate(cpuSeconds(server.child.pid), cpu0.server);
      const etcdMs = perCreate(cpuSeconds(etcdPid), cpu0.etcd);
      const clientMs = perCreate(selfCpuSeconds(), cpu0.client);
      progress(`${n} Event creates in ${fmt(createS)} s`);

      // 2. One recorder, a burst of events of different pods.
      let dropped = 0;
      const recorder = new ApiEventRecorder(cs.events, { component: 'kubelet', host: 'bench-node' }, { onError: () => dropped++ });
      const recordStart = performance.now();
      for (let i = 0; i < RECORDER_BURST; i++) {
        const e = kubeletEvent(2 * n + WARMUP + i);
        recorder.event(e.involvedObject!, 'Normal', e.reason!, e.message!);
      }
      await recorder.stop();
      const recordS = (performance.now() - recordStart) / 1000;
      progress(`recorder: ${RECORDER_BURST} events in ${fmt(recordS)} s, ${dropped} dropped`);

      console.log(`\nEvents: ${n} creates, ${CONCURRENCY} in flight, against tsk server (embedded etcd)\n`);
      console.log('| figure | value |');
      console.log('| --- | --- |');
      const rows: [string, string][] = [
        ['Event creates/s', fmt(n / createS, 0)],
        ['server CPU ms per create', fmt(serverMs, 3)],
        ['etcd CPU ms per create', fmt(etcdMs, 3)],
        ['client CPU ms per create', fmt(clientMs, 3)],
        [`one recorder, ${RECORDER_BURST} events of different objects (s)`, fmt(recordS, 2)],
        ['recorder events written/s', fmt((RECORDER_BURST - dropped) / recordS, 0)],
        ['recorder events dropped', String(dropped)],
      ];
      for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
      console.log(
        JSON.stringify({
          events: n,
          concurrency: CONCURRENCY,
          create_per_s: Number(fmt(n / createS, 0)),
          server_cpu_per_create_ms: Number(fmt(serverMs, 3)),
          etcd_cpu_per_create_ms: Number(fmt(etcdMs, 3)),
          client_cpu_per_create_ms: Number(fmt(clientMs, 3)),
          recorder_s: Number(fmt(recordS, 2)),
          recorder_events: RECORDER_BURST,
          recorder_written_per_s: Number(fmt((RECORDER_BURST - dropped) / recordS, 0)),
          recorder_dropped: dropped,
        }),
      );
    } finally {
      cs.close();
    }
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${errorMessage(err)}`);
    process.exit(1);
  },
);
