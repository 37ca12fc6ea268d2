// The kubelet's pod network: BridgeNetwork (a NetworkHook for the runtime)
// and what its users and tests need beside it.

export { BridgeNetwork, BridgeNetworkOptions, DEFAULT_BRIDGE, DEFAULT_MTU, POD_IFNAME, vethName } from './bridge';
export { parsePodCidr, PodCidr } from './cidr';
export { CommandResult, CommandRunner, ExecRunner, NetworkError } from './commands';
export { HostLocalIpam, IpamError } from './ipam';
export { LauncherRunner } from './launcher-runner';
