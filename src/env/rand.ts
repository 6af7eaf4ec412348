/**
 * Randomness as the node sees it. Seeded and forkable in the simulator so that every component
 * draws from its own sub-stream: adding draws in one component does not reshuffle the others.
 */
export interface Rand {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Uniform integer in [min, max] inclusive. */
  between(min: number, max: number): number;
  /** An independent stream derived from this one's seed and `label` (not from its position). */
  fork(label: string): Rand;
}
