import type { Clock } from './clock.js';
import type { Disk } from './disk.js';
import type { Logger } from './logger.js';
import type { Rand } from './rand.js';

/** Everything a node needs from the world, bundled. The transport is typed by its user. */
export interface Env {
  readonly clock: Clock;
  readonly rand: Rand;
  readonly disk: Disk;
  readonly logger: Logger;
}
