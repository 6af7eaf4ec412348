/**
 * nemesis/: the fault vocabulary (as data), schedules of timed faults, and a seeded schedule
 * generator whose failures shrink. Imports only histories/.
 */
export { PARTITION_KINDS, DISK_FAULT_KINDS, NEMESIS_FS, describeAction, describePartition, describeSelector, actionToOp, applyAction } from './vocabulary.js';
export type { NodeName, NodeSelector, Partition, PartitionKind, DiskFault, DiskFaultKind, NemesisAction, NemesisF, FaultTarget } from './vocabulary.js';
export { FAULT_FAMILIES, scheduleArbitrary, generateSchedule, formatSchedule } from './schedule.js';
export type { TimedAction, Schedule, FaultFamily, ScheduleConfig } from './schedule.js';
