// The pod start-up bench's cluster: a `tsk lab` of one server and one node
// under a random name, in a temporary data directory with its own
// $TSK_CONFIG (the user's ~/.tsk/config is never written) and free loopback
// ports, with the busybox test image loaded into the node; and the floor's
// runtime directory beside it, where `tsk runtime` runs the same container.
// `down` removes all of it: the lab's processes, namespaces and pods, the
// floor's containers and the directory.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Clientset, resolveClient } from '../client';
import { planLab, type LabPlan } from '../lab';
import { busyboxImage, cleanupRuntime, dockerSaveArchive, ImageStore, NativeRuntime } from '../kubelet/runtime';
import { freePort } from '../util/free-port';

export const TSK = resolve(__dirname, '..', 'cmd', 'tsk.js');
export const IMAGE = 'busybox:1.36';

export interface StartupLab {
  readonly name: string;
  readonly dir: string;
  readonly plan: LabPlan;
  readonly env: NodeJS.ProcessEnv;
  /** The floor's `tsk runtime --data-dir`. */
  readonly floorDir: string;
  /** The busybox archive (docker save), loaded into the node and the floor's store. */
  readonly archive: string;
  address: string;
  /** The server's /metrics address (HOST:PORT). */
  httpAddress: string;
}

/** Runs `node tsk.js ARGS` to its end; rejects with its last output when it fails. */
export function tsk(args: readonly string[], env: NodeJS.ProcessEnv, netns?: string): Promise<string> {
  const argv = netns ? ['nsenter', `--net=/var/run/netns/${netns}`, process.execPath, TSK, ...args] : [process.execPath, TSK, ...args];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`tsk ${args.join(' ')} exited ${code ?? 'by a signal'}:\n${out.slice(-3000)}`));
    });
  });
}

/** The lab's names and directories; nothing is started. */
export async function newStartupLab(): Promise<StartupLab> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-bench-startup-'));
  const name = `bst-${randomBytes(3).toString('hex')}`;
  const plan = planLab({ name, nodes: 1, dataDir: dir, network: '172.30.0.0/24' });
  return {
    name,
    dir,
    plan,
    env: { ...process.env, TSK_CONFIG: join(dir, 'config') },
    floorDir: join(dir, 'floor'),
    archive: join(dir, 'busybox.tar'),
    address: '',
    httpAddress: '',
  };
}

/** Brings the lab up (one server, one node, free ports) and loads busybox into the node and the floor's store. */
export async function upStartupLab(lab: StartupLab, progress: (m: string) => void, cpuProfDir?: string): Promise<void> {
  lab.address = `127.0.0.1:${await freePort()}`;
  const common = ['--name', lab.name, '--data-dir', lab.dir];
  const prof = cpuProfDir !== undefined ? ['--cpu-prof', cpuProfDir] : [];
  progress(`tsk lab up ${lab.name} (1 server, 1 node) in ${lab.dir}${cpuProfDir !== undefined ? `, CPU profiles into ${cpuProfDir}` : ''}`);
  lab.httpAddress = `127.0.0.1:${await freePort()}`;
  await tsk(['lab', 'up', ...common, '--nodes', '1', '--address', lab.address, '--http-address', lab.httpAddress, '--timeout', '300', ...prof], lab.env);
  await writeFile(lab.archive, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: [IMAGE] }]));
  await tsk(['lab', 'load', ...common, lab.archive], lab.env);
  await tsk(['runtime', 'import', lab.archive, '--data-dir', lab.floorDir], lab.env);
}

/** The admin's clientset of the lab's server. */
export async function labClient(lab: StartupLab): Promise<Clientset> {
  const target = await resolveClient({ kubeconfig: join(lab.plan.serverDataDir, 'admin.conf'), server: lab.address });
  return new Clientset(target.server, target.credentials);
}

/** Removes everything: the floor's containers, the lab (processes, pods, namespaces), the directory. Best effort, never throws. */
export async function downStartupLab(lab: StartupLab, progress: (m: string) => void): Promise<void> {
  const floor = new NativeRuntime({ dataDir: lab.floorDir, images: new ImageStore(lab.floorDir) });
  await cleanupRuntime(floor, lab.floorDir).catch((err: unknown) => progress(`the floor's runtime: ${String(err)}`));
  await tsk(['lab', 'down', '--name', lab.name, '--data-dir', lab.dir], lab.env).catch((err: unknown) => progress(`tsk lab down: ${String(err)}`));
  await rm(lab.dir, { recursive: true, force: true });
}
