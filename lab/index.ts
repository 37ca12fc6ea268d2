// The lab's public face: the `tsk lab` command. Other folders import the lab
// only from here.

export { main } from './main';
// The chaos suite reads a lab's plan (machine names, namespaces, data directories).
export { planLab, type LabNode, type LabPlan, type LabServer } from './topology';
export { labStatus, type LabStatus, type MachineStatus } from './lab';
