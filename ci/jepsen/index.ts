/**
 * ci/jepsen: Jepsen-style runs on real processes (`npm run jepsen`). The nemesis vocabulary of
 * nemesis/ drives real members (kill -9, SIGSTOP, black-hole routes between network
 * namespaces); gRPC clients record a history that checker/ judges.
 */
export { runJepsen, abortActiveRuns } from './runner.js';
export type { RunResult } from './runner.js';
export { parseArgs, DEFAULTS, USAGE, UsageError, FAULT_KINDS, TARGETS, WORKLOADS } from './options.js';
export type { Command, FaultKind, JepsenOptions, NetMode, Target, WorkloadName } from './options.js';
export { cutsOf } from './cuts.js';
export type { Cut } from './cuts.js';
export { createNetwork, cleanupLeftovers, namespaceProblem, NS_PREFIX } from './net.js';
export type { Endpoint, Network } from './net.js';
export { periodicSchedule } from './schedule.js';
export type { PeriodicConfig } from './schedule.js';
export { summaryText } from './report.js';
export { Watchers, WatchWriteWorkload } from './watch.js';
export { buildServer } from './build.js';
export type { Summary } from './report.js';
export type { FaultRecord } from './nemesis-driver.js';
