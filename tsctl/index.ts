// tsctl's public face: the command (cmd/tsctl.ts runs it). Other folders
// import tsctl only from here.

export { main, type MainOptions } from './main';
