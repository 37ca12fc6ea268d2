// tsctl's public face: the command (cmd/tsctl.ts runs it). Other folders
// import tsctl only from here.

export { main, type MainOptions } from './main';
// kubectl's table layout and ages, for the tables `tsk token list` prints.
export { humanDuration } from '../util/age';
export { formatTable } from './printers/table';
export { PLAINTEXT_ENV } from './context';
