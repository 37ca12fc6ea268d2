// scripts/check-examples.sh DIR: runs every manifest file under DIR through
// `tsctl apply --validate=strict --dry-run=server -f FILE` against a server
// that is already running (it starts nothing itself) and prints one row per
// file: ok, warning or error, with the message. Exits 1 when any file is an
// error. Made for the examples of the Kubernetes documentation
// (kubernetes/website, content/en/examples), which tsk should take unchanged.

import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { loadAll } from 'js-yaml';
import { KUBE_YAML_SCHEMA } from '../../util/kube-yaml';
import { flagBool, flagString, formatFlags, parseCommandLine, UsageError, type FlagSpec } from '../../util/flags';
import { errorMessage } from '../../util/errors';
import { classify, exitCode, formatTable, type Row, type RunResult } from './table';

const TSCTL = resolve(__dirname, '..', '..', 'cmd', 'tsctl.js');
/** One file's apply, connection included; a hung server must not hang the whole check. */
const RUN_TIMEOUT_MS = 60_000;

/** tsctl's connection flags, handed on unchanged to every run. */
const PASSED_ON = ['server', 'kubeconfig', 'context', 'token'] as const;

const FLAGS: readonly FlagSpec[] = [
  ...PASSED_ON.map((name): FlagSpec => ({ name, type: 'string', help: `tsctl's --${name}` })),
  {
    name: 'create-namespaces',
    type: 'bool',
    help: 'first create every namespace the files name (as the documentation has you do with kubectl create namespace)',
  },
  { name: 'help', short: 'h', type: 'bool', help: 'show this help' },
];

const USAGE = `Usage: scripts/check-examples.sh DIR [FLAGS]\n\nApplies every .yaml, .yml and .json file under DIR with tsctl apply --validate=strict --dry-run=server\nagainst a running server and prints a table of results (ok, warning, error).\n\n`;

/** Every manifest file under dir, relative to it, sorted. */
export async function listManifests(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(ya?ml|json)$/.test(e.name)) out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** The namespaces other than default that the files' objects name (files that do not parse name none). */
async function namespacesOf(dir: string, files: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const f of files) {
    let docs: unknown[];
    try {
      docs = loadAll(await readFile(join(dir, f), 'utf8'), { schema: KUBE_YAML_SCHEMA });
    } catch {
      continue;
    }
    for (const d of docs) {
      const ns = (d as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
      if (typeof ns === 'string' && ns !== '' && ns !== 'default') found.add(ns);
    }
  }
  return [...found].sort();
}

function runTsctl(args: readonly string[], stdin = ''): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [TSCTL, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommandLine(argv, FLAGS);
  if (flagBool(args, 'help')) {
    process.stdout.write(`${USAGE}Flags:\n${formatFlags(FLAGS)}\n`);
    return 0;
  }
  const [dir, ...extra] = args.positionals;
  if (dir === undefined || extra.length > 0) throw new UsageError('give exactly one directory: scripts/check-examples.sh DIR');
  const connection = PASSED_ON.flatMap((name) => {
    const v = flagString(args, name);
    return v === undefined ? [] : [`--${name}=${v}`];
  });
  const files = await listManifests(dir);
  if (files.length === 0) throw new UsageError(`${dir}: no .yaml, .yml or .json files`);
  if (flagBool(args, 'create-namespaces')) {
    for (const ns of await namespacesOf(dir, files)) {
      const r = await runTsctl([...connection, 'apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`);
      if (r.code !== 0) throw new Error(`creating namespace ${ns}: ${r.stderr.trim()}`);
    }
  }
  const rows: Row[] = [];
  for (const file of files) {
    const run = await runTsctl([...connection, 'apply', '--validate=strict', '--dry-run=server', '-f', join(dir, file)]);
    rows.push({ file, ...classify(run) });
  }
  process.stdout.write(formatTable(rows));
  return exitCode(rows);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`check-examples: ${errorMessage(err)}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
