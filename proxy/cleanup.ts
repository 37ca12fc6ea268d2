// `tsk proxy --cleanup`: removes every rule and chain the proxy owns from the
// network namespace it runs in, in both modes (as kube-proxy --cleanup
// does): the iptables chains with one iptables-restore, the nftables table
// with one nft transaction. Idempotent. Each mode's part also runs alone on
// the first sync of the other mode, so switching leaves nothing behind.

import { parseIptablesSave, type Iptables } from './iptables';
import type { Nftables } from './nftables';
import { NFT_CLEANUP_INPUT, NFT_TABLE, parseNftList } from './nft-rules';
import { buildCleanupInput } from './rules';

/** Removes the iptables mode's jumps and chains; resolves to the number of chains deleted. */
export async function cleanupIptables(iptables: Iptables): Promise<number> {
  const input = buildCleanupInput(parseIptablesSave(await iptables.save()));
  if (input === '') return 0;
  await iptables.restore(input);
  return input.split('\n').filter((l) => l.startsWith('-X ')).length;
}

/** Removes the nftables mode's table (ip tsk-proxy); resolves to the number of chains it had (0: there was none). */
export async function cleanupNftables(nft: Nftables): Promise<number> {
  const text = await nft.list();
  if (!new RegExp(`^table ip ${NFT_TABLE} \\{`, 'm').test(text)) return 0;
  await nft.run(NFT_CLEANUP_INPUT);
  return parseNftList(text).chains.size;
}
