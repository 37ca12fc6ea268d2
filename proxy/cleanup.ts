// `tsk proxy --cleanup`: removes every rule and chain the proxy owns from the
// network namespace it runs in, with one iptables-restore. Idempotent.

import { parseIptablesSave, type Iptables } from './iptables';
import { buildCleanupInput } from './rules';

/** Removes the proxy's jumps and chains; resolves to the number of chains deleted. */
export async function cleanupRules(iptables: Iptables): Promise<number> {
  const input = buildCleanupInput(parseIptablesSave(await iptables.save()));
  if (input === '') return 0;
  await iptables.restore(input);
  return input.split('\n').filter((l) => l.startsWith('-X ')).length;
}
