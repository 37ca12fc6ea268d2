// The service proxy's public face: the `tsk proxy` command (main) and the
// pieces `tsk agent` runs in its own process (the proxier and its health
// server), with its flags. Other folders import the proxy only from here.

export { main } from './main';
export { FLAG_HELP, UsageError, parseFlags, proxyModeFlag, type ProxyFlags } from './flags';
export { PROXY_MODES, type ProxyMode, type SyncWrite } from './backend';
export { ExecNftables, keepChunks, nftCommand, type NftInput, type Nftables } from './nftables';
export { startProxy, type ProxyOptions, type RunningProxy } from './proxier';
export { listenProxyHealthServer } from './health';
export { ExecIptables, type Iptables } from './iptables';
export { DiscardingIptables } from './discarding-iptables';
export { HelperNftables, nftHelperPath } from './nft-helper';
