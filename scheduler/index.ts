// The scheduler's public entry points: the library (startScheduler) and the
// `tsk scheduler` command (main).

export { startScheduler, type RunningScheduler, type SchedulerOptions } from './start';
export { main } from './main';
export { FLAG_HELP, UsageError, parseFlags, percentageFlag, type SchedulerFlags } from './flags';
export { DEFAULT_SCHEDULER_NAME, needsScheduling } from './scheduler';
