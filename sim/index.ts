/** The simulator's machinery: event loop on virtual time, clocks, network, disks, fault profiles. */
export { SimLoop, firstDivergence } from './loop.js';
export type { EventHandle, TraceLine, SimLoopOptions, Divergence, TraceSource } from './loop.js';
export { SimClock } from './clock.js';
export type { SimClockOptions, SimClockState } from './clock.js';
export {
  SimNetwork,
  lossRule,
  duplicateRule,
  reorderRule,
  latencyRule,
  partitionRule,
  oneWayRule,
  isolateRule,
  bridgeRule,
  slowLinkRule,
  delayMatchingRule,
} from './network.js';
export type { LinkVerdict, LinkContext, NetRule, RuleCategory, SimNetworkOptions, NodeProcessState, NetworkStats } from './network.js';
export { SimDiskDevice, SimDisk, normalizePath, parentOf } from './disk.js';
export type { SimDiskOptions, CrashReport, DiskStats } from './disk.js';
export { drawFaultProfile, withoutFaults, networkOptions, diskOptions, clockOptions, drawIntervalMs, formatFaultProfile, DEFAULT_SNAPSHOT } from './faults.js';
export type {
  FaultProfile,
  NetworkProfile,
  EpisodeProfile,
  PartitionKind,
  PartitionProfile,
  NodeClockProfile,
  ClockProfile,
  DiskProfile,
  PowerLossProfile,
  CrashTriggerProfile,
  SlowTickProfile,
  SnapshotProfile,
  SnapDelayProfile,
} from './faults.js';
export { SimLogSink } from './logger.js';
export type { LogLevel, SimLogSinkOptions } from './logger.js';
export { SimWorld, SimHost } from './host.js';
export type { SimWorldOptions, SimHostOptions, SimLife } from './host.js';
