import type { Env } from '../env.js';
import { NodeClock } from './clock.js';
import { NodeDisk } from './disk.js';
import { consoleLogger } from './logger.js';
import type { LogLevel } from './logger.js';
import { NodeRand } from './rand.js';

export interface NodeEnvOptions {
  readonly logLevel?: LogLevel;
  /** Fixed PRNG seed (to replay a run); drawn from crypto when absent. */
  readonly randSeed?: readonly [number, number, number, number];
}

export interface NodeEnv extends Env {
  readonly clock: NodeClock;
  readonly rand: NodeRand;
  readonly disk: NodeDisk;
}

/** The real world: the data directory on the local file system, real time, OS entropy. */
export function nodeEnv(dataDir: string, options: NodeEnvOptions = {}): NodeEnv {
  const rand = options.randSeed ? new NodeRand(options.randSeed) : NodeRand.fromCrypto();
  const logger = consoleLogger(options.logLevel ?? 'info');
  logger.debug('node env', { dataDir, randSeed: rand.seed });
  return { clock: new NodeClock(), rand, disk: new NodeDisk(dataDir), logger };
}
