// Per-container metrics as cAdvisor reports them, for the kubelet's port.
export { CadvisorCollector, collectSamples, type CadvisorPaths, type CollectorDeps } from './collector';
export { nativeCadvisorPaths } from './native-paths';
