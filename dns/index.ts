// The cluster DNS's public face: what `tsk agent` runs on every node, and
// the pieces the bench and the tests drive directly. Other folders import
// the DNS only from here.

export { startClusterDns, type ClusterDnsOptions, type RunningClusterDns } from './start';
export { DnsHandler, listenDns, type DnsServerOptions, type ListeningDnsServer } from './server';
export { RecordIndex, TTL_SECONDS, type ZoneConfig } from './records';
export { newDnsMetrics, type DnsMetrics } from './metrics';
export { newUpstream, queryTcp, queryUdp, upstreamServers, type Upstream } from './upstream';
export { DNS_INTERFACE, ensureDnsInterface, removeDnsInterface } from './interface';
