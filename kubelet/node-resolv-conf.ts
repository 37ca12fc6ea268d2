// The node's resolver config as pods see it (the kubelet's --resolv-conf):
// read at each sandbox, so an edit of the file reaches new pods, without
// loopback nameservers (a stub such as systemd-resolved's 127.0.0.53 is the
// node's own and unreachable from a pod's network namespace).

import * as fs from 'node:fs';
import { isLoopbackNameserver, parseResolvConf, type ResolvConf } from '../util/resolv-conf';
import { errorMessage } from '../util/errors';

/** The file's config; undefined for "" (no node DNS); empty (with a log line) when it cannot be read. */
export function readNodeResolvConf(file: string, log: (line: string) => void): ResolvConf | undefined {
  if (file === '') return undefined;
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    log(`cannot read --resolv-conf ${file}: ${errorMessage(err)}`);
  }
  const conf = parseResolvConf(text);
  return { ...conf, nameservers: conf.nameservers.filter((s) => !isLoopbackNameserver(s)) };
}
