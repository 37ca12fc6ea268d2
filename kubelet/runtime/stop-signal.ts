// The number of a stop signal named as Kubernetes names them (lifecycle.stopSignal,
// moby/sys/signal's names): Node knows the classic names, not SIGCLD or the
// real-time ones, which glibc numbers from 34 (SIGRTMIN) to 64 (SIGRTMAX).

import * as os from 'node:os';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** The signal number of `name`, or undefined when it is no Linux signal. */
export function signalNumber(name: string): number | undefined {
  if (name === 'SIGCLD') return os.constants.signals.SIGCHLD;
  const known = (os.constants.signals as Record<string, number | undefined>)[name];
  if (known !== undefined) return known;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (!rt) return undefined;
  const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
  const n = base + (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0);
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}
