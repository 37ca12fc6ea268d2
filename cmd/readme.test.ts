// The README is the contract with users: every flag that a tsk command or
// tsctl accepts must be documented there.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FLAG_HELP as API_HELP } from '../apiserver';
import { flagHelp as controllerHelp } from '../controllers';
import { FLAG_HELP as KUBELET_HELP } from '../kubelet';
import { FLAG_HELP as PROXY_HELP } from '../proxy';
import { FLAG_HELP as SCHEDULER_HELP } from '../scheduler';
import { AGENT_HELP } from './agent-flags';
import { HOLLOW_HELP } from './hollow-flags';
import { SERVER_HELP } from './server-flags';

const README = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');
const flagsOf = (help: string): string[] => [...new Set([...help.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((m) => m[1] ?? ''))];

for (const [command, help] of [
  ['apiserver', API_HELP],
  ['controller-manager', controllerHelp()],
  ['kubelet', KUBELET_HELP],
  ['proxy', PROXY_HELP],
  ['scheduler', SCHEDULER_HELP],
  ['agent', AGENT_HELP],
  ['server', SERVER_HELP],
  ['hollow-nodes', HOLLOW_HELP],
] as const) {
  test(`README documents every flag of tsk ${command}`, (t) => {
    const flags = flagsOf(help);
    t.true(flags.length >= 3, `the help of tsk ${command} names its flags: ${flags.join(' ')}`);
    const missing = flags.filter((f) => f !== '--help' && !README.includes(`\`${f}`));
    t.deepEqual(missing, [], `flags of tsk ${command} missing from README.md`);
  });
}
