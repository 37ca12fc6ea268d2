#!/usr/bin/env node
// tsk: one binary, many roles (as k3s). Each role lives in its own component
// and exposes main(argv) -> exit code; this file only dispatches.

import { errorMessage } from '../util/errors';

type Role = { summary: string; load: () => Promise<(argv: string[]) => Promise<number>> };

const roles: Record<string, Role> = {
  server: {
    summary: 'Run the control plane in one process: API server (with its own etcd), scheduler and controllers',
    load: async () => (await import('./server.js')).main,
  },
  agent: {
    summary: 'Run a node in one process: the kubelet, the service proxy and the routes to other nodes',
    load: async () => (await import('./agent.js')).main,
  },
  token: {
    summary: 'Manage join tokens: create, list, delete (as kubeadm token)',
    load: async () => (await import('./token.js')).main,
  },
  'etcd-snapshot': {
    summary: "Snapshots of this server's embedded etcd: save, ls, delete, prune (as k3s etcd-snapshot)",
    load: async () => (await import('../apiserver/index.js')).etcdSnapshotMain,
  },
  lab: {
    summary: 'A local multi-node cluster in network namespaces (like kind): up, down, status, load',
    load: async () => (await import('../lab/index.js')).main,
  },
  apiserver: {
    summary: 'Run the API server (starts its own etcd unless --etcd-servers is given)',
    load: async () => (await import('../apiserver/index.js')).main,
  },
  scheduler: {
    summary: 'Run the scheduler: bind pending pods to nodes',
    load: async () => (await import('../scheduler/index.js')).main,
  },
  'controller-manager': {
    summary: 'Run the controllers: replication, endpoints, node lifecycle, node IPAM, pod and owner garbage collection',
    load: async () => (await import('../controllers/index.js')).main,
  },
  kubelet: {
    summary: 'Run the node agent: register this machine as a Node and run the pods bound to it',
    load: async () => (await import('../kubelet/index.js')).main,
  },
  proxy: {
    summary: "Run the service proxy: program iptables so Services' cluster IPs and node ports reach their pods",
    load: async () => (await import('../proxy/index.js')).main,
  },
  'hollow-nodes': {
    summary: 'Run many hollow nodes in one process (as kubemark): real kubelets over an in-memory runtime, for scale tests',
    load: async () => (await import('./hollow-nodes.js')).main,
  },
  runtime: {
    summary: 'Drive the built-in container runtime directly (pull, run, ps, logs, exec, ...)',
    load: async () => (await import('../kubelet/runtime/index.js')).main,
  },
};

function usage(): string {
  const lines = Object.entries(roles).map(([name, r]) => `  ${name.padEnd(19)} ${r.summary}`);
  return `Usage: tsk COMMAND [FLAGS]\n\nCommands:\n${lines.join('\n')}\n\nRun 'tsk COMMAND --help' for a command's flags.`;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const role = roles[name];
  if (!role) {
    console.error(`tsk: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const main = await role.load();
  return main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`tsk: ${errorMessage(err)}`);
    process.exitCode = 1;
  },
);
