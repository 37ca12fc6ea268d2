// The controller manager's public face: the `tsk controller-manager` command
// (main), the start-up used by `tsk server`, and its flags (the node
// controllers' flags are shared with `tsk server`). Other folders import the
// controllers only from here.

export { main } from './main';
export { startControllerManager, UnknownControllerError, type ControllerManagerOptions, type RunningControllerManager } from './manager';
export { CONCURRENCY_FLAGS, UsageError, flagHelp, parseFlags, type ControllerManagerFlags } from './flags';
export {
  NODE_CONTROLLER_FLAG_HELP,
  NODE_CONTROLLER_FLAG_SPECS,
  nodeControllerEntries,
  parseNodeControllerFlags,
  type NodeControllerOptions,
} from './node-flags';
