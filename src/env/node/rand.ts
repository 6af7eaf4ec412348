import { randomBytes } from 'node:crypto';
import { assert } from '../../util/index.js';
import type { Rand } from '../rand.js';

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;

/**
 * sfc32 (small fast counting PRNG, 128-bit state) seeded from four 32-bit words. Not
 * cryptographic: the node only needs well-spread election timeouts and ids. The seed is
 * exposed so a real run can log it.
 */
export class NodeRand implements Rand {
  readonly seed: readonly [number, number, number, number];
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: readonly [number, number, number, number]) {
    this.seed = [seed[0] >>> 0, seed[1] >>> 0, seed[2] >>> 0, seed[3] >>> 0];
    [this.a, this.b, this.c, this.d] = this.seed;
    // Discard the first outputs: sfc32's early outputs correlate with close seeds.
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  /** A generator seeded from the OS's entropy. */
  static fromCrypto(): NodeRand {
    const bytes = randomBytes(16);
    return new NodeRand([
      bytes.readUInt32LE(0),
      bytes.readUInt32LE(4),
      bytes.readUInt32LE(8),
      bytes.readUInt32LE(12),
    ]);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  float(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  int(maxExclusive: number): number {
    assert(
      Number.isSafeInteger(maxExclusive) && maxExclusive > 0,
      `rand.int: bad bound ${maxExclusive}`,
    );
    if (maxExclusive <= TWO_POW_32) {
      // Rejection sampling keeps the result unbiased.
      const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
      for (;;) {
        const x = this.nextUint32();
        if (x < limit) return x % maxExclusive;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % maxExclusive);
    for (;;) {
      const x = (this.nextUint32() >>> 5) * 2 ** 26 + (this.nextUint32() >>> 6);
      if (x < limit) return x % maxExclusive;
    }
  }

  between(min: number, max: number): number {
    assert(min <= max, `rand.between: min ${min} > max ${max}`);
    return min + this.int(max - min + 1);
  }

  fork(label: string): Rand {
    // Derived from the seed and the label only, never from how far this stream has advanced.
    const words: [number, number, number, number] = [0, 0, 0, 0];
    for (let w = 0; w < 4; w++) {
      let h = (0x811c9dc5 ^ (this.seed[w] ?? 0) ^ Math.imul(w + 1, 0x9e3779b9)) >>> 0;
      for (let i = 0; i < label.length; i++) {
        h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
      }
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
      words[w] = (h ^ (h >>> 16)) >>> 0;
    }
    return new NodeRand(words);
  }
}
