// The chaos suite's hands on its lab: `tsk lab` itself (up, load, kill,
// start, partition, heal, down: the commands a user types), plus two things
// the lab commands do not offer: kill -9 of a server's embedded etcd alone,
// and finding which server leads the scheduler.

import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime';
import { planLab, type LabPlan } from '../lab';
import { Clientset, resolveClient } from '../client';
import { etcdPidFile, isEtcdOf } from '../util/etcd-process';
import { IMAGE } from './objects';

export interface ChaosLab {
  readonly name: string;
  readonly dataDir: string;
  readonly plan: LabPlan;
  /** The lab's kubeconfig: every server's socket. */
  readonly kubeconfig: string;
  /** $TSK_CONFIG points into dataDir: the user's ~/.tsk/config is never written. */
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
}

const TSK = resolve(__dirname, '..', 'cmd', 'tsk.js');

export function chaosLab(name: string, dataDir: string, servers: number, nodes: number, log: (line: string) => void): ChaosLab {
  const plan = planLab({ name, nodes, servers, dataDir, network: '172.30.0.0/24' });
  return { name, dataDir, plan, kubeconfig: join(plan.dir, 'kubeconfig'), env: { ...process.env, TSK_CONFIG: join(dataDir, 'config') }, log };
}

/** Runs `tsk lab ARGS --name N --data-dir D`; its output goes to the log line by line; rejects with its last lines when it fails. */
export function labCommand(lab: ChaosLab, ...args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [TSK, 'lab', ...args, '--name', lab.name, '--data-dir', lab.dataDir], {
      env: lab.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        lab.log(`  ${line}`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`tsk lab ${args.join(' ')} exited ${code ?? 'by a signal'}:\n${tail.join('\n')}`));
    });
  });
}

/** Brings the lab up and loads busybox into every node (the lab has no registry). */
export async function upChaosLab(lab: ChaosLab): Promise<void> {
  await labCommand(lab, 'up', '--servers', String(lab.plan.servers.length), '--nodes', String(lab.plan.nodes.length), '--timeout', '300');
  const archive = join(lab.plan.dir, 'busybox.tar');
  await writeFile(archive, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: [IMAGE] }]));
  await labCommand(lab, 'load', archive);
}

/** The pid of a server's running embedded etcd (its pid file, checked against its command line), or undefined. */
export async function etcdPid(lab: ChaosLab, server: string): Promise<number | undefined> {
  const s = lab.plan.servers.find((x) => x.name === server);
  if (!s) throw new Error(`${server}: not a server of lab ${lab.name}`);
  const pid = Number((await readFile(etcdPidFile(s.dataDir), 'utf8').catch(() => '')).trim());
  const cmdline = pid > 0 ? (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0') : [];
  return pid > 0 && isEtcdOf(cmdline, s.dataDir) ? pid : undefined;
}

/** kill -9 of a server's embedded etcd (only a pid whose command line is that etcd: no stranger is killed); returns its pid. */
export async function killEtcd(lab: ChaosLab, server: string): Promise<number> {
  const pid = await etcdPid(lab, server);
  if (pid === undefined) throw new Error(`${server}: no running etcd to kill`);
  process.kill(pid, 'SIGKILL');
  return pid;
}

/** Clients of each server alone (its own socket), to tell whether each answers. */
export async function serverClients(lab: ChaosLab): Promise<Map<string, Clientset>> {
  const target = await resolveClient({ kubeconfig: lab.kubeconfig });
  const out = new Map<string, Clientset>();
  for (const s of lab.plan.servers) if (s.ha) out.set(s.name, new Clientset(`unix:${s.ha.apiSocket}`, { ...target.credentials, deadlineMs: 5000 }));
  return out;
}

/** The identity the server's current process runs its scheduler's leader election as: the last one its log names. */
export function currentSchedulerIdentity(log: string): string | undefined {
  return [...log.matchAll(/kube-scheduler as (\S+)/g)].at(-1)?.[1];
}

/**
 * The server whose running scheduler holds the kube-scheduler Lease; undefined
 * when the holder is no server's current process (a killed one's Lease not
 * yet expired: killing anyone then would not measure a hand-over).
 */
export async function schedulerLeader(lab: ChaosLab, cs: Clientset): Promise<string | undefined> {
  const lease = await cs.leases.get('kube-scheduler', 'kube-system');
  const holder = lease.spec?.holderIdentity;
  if (!holder) return undefined;
  for (const s of lab.plan.servers) {
    const log = await readFile(join(lab.plan.dir, `${s.name}.log`), 'utf8').catch(() => '');
    if (currentSchedulerIdentity(log) === holder) return s.name;
  }
  return undefined;
}
