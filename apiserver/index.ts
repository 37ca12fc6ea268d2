// The API server's public face: the `tsk apiserver` command (main), the
// start-up used by `tsk server` (startWithEtcd) and by tests (startApiServer),
// and its flags. Other folders import the API server only from here.

export { leave, main, resetCluster, startWithEtcd, type StartedApiServer } from './main';
export { main as etcdSnapshotMain } from './etcd/snapshot-cli';
export { startApiServer, type ApiServerOptions, type RunningApiServer } from './server';
export { FLAG_HELP, UsageError, parseFlags, type ApiServerFlags } from './flags';
export { USER_CONTROLLER_MANAGER, USER_SCHEDULER, type UserInfo } from './auth/user';
