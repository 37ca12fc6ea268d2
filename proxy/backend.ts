// What the proxier needs from a proxy mode (kube-proxy's --proxy-mode): a
// backend that programs the kernel from the service ports, fully or
// partially. The proxier decides when a sync is full (the first, the one
// after a failure, one per --sync-period); the backend decides what that
// means for its rules. iptables-backend.ts and nft-backend.ts implement it.

import type { PortUpdate } from './service-ports';

export type ProxyMode = 'iptables' | 'nftables';

export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];

/** What a sync wrote, for the bench and the logs. */
export interface SyncWrite {
  /** The input given to iptables-restore or nft -f; "" when nothing needed writing. */
  readonly input: string;
}

export interface ProxyBackend {
  readonly mode: ProxyMode;
  /**
   * Programs the rules for `ports`. Full: reads what the kernel holds,
   * writes every rule and removes stale ones (the first full sync also
   * removes the other mode's rules, as kube-proxy does when switching).
   * Partial: writes only what changed since the last successful sync
   * (`ports.changes` when given: the ports changed since the last call,
   * which the caller reports for every call, failed ones included).
   * Throws when the write fails; the caller makes its next sync full.
   */
  sync(ports: PortUpdate, full: boolean): Promise<SyncWrite>;
  /** Forgets what the kernel holds (after a failure): only a full sync is valid next. */
  reset(): void;
  /** True when a partial sync is possible: the last sync succeeded. */
  readonly synced: boolean;
  /** Rules the proxy owns, by table (kubeproxy_sync_proxy_rules_iptables_total). */
  ruleCounts(): Readonly<Record<string, number>>;
}
