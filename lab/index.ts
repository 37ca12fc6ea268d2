// The lab's public face: the `tsk lab` command. Other folders import the lab
// only from here.

export { main } from './main';
