export type { Clock, TimerHandle } from './clock.js';
export type { Rand } from './rand.js';
export type { Disk } from './disk.js';
export { DiskError } from './disk.js';
export type { Transport } from './transport.js';
export type { Logger, LogFields } from './logger.js';
export { silentLogger } from './logger.js';
export type { Env } from './env.js';
