// The cluster DNS address on the node: a dummy interface (tsk-dns) holding
// it as a /32, as NodeLocal DNSCache's nodelocaldns interface does. Pods
// reach it through their default route to the node (the bridge's gateway);
// the node delivers it locally. Ensuring is idempotent (a restart finds the
// interface there and keeps it); removing it is for a clean shutdown.

import { execFile } from 'node:child_process';

export const DNS_INTERFACE = 'tsk-dns';

/** Runs one command; rejects with its stderr. */
export type Run = (argv: readonly string[]) => Promise<void>;

export const execRun: Run = (argv) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    execFile(file ?? 'false', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });

/** Adds the interface (if missing) with `ip`/32 on it, up. */
export async function ensureDnsInterface(ip: string, run: Run = execRun, name = DNS_INTERFACE): Promise<void> {
  try {
    await run(['ip', 'link', 'add', name, 'type', 'dummy']);
  } catch (err) {
    if (!/File exists/.test(String(err))) throw new Error(`cluster DNS: add interface ${name}: ${String(err)}`, { cause: err });
  }
  // replace: the same address again is no error, at restart or in a race.
  await run(['ip', 'addr', 'replace', `${ip}/32`, 'dev', name]);
  await run(['ip', 'link', 'set', name, 'up']);
}

/** Removes the interface and its address; gone already is fine. */
export async function removeDnsInterface(run: Run = execRun, name = DNS_INTERFACE): Promise<void> {
  try {
    await run(['ip', 'link', 'del', name]);
  } catch (err) {
    if (!/Cannot find device|does not exist/.test(String(err))) throw err;
  }
}
