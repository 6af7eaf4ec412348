/**
 * Seeded pseudo-random numbers for the simulator and for tests: xoshiro128** (Blackman and
 * Vigna), a small, fast generator with a 128-bit state, seeded from a murmur3-style hash of
 * (seed, stream label).
 *
 * Why the state is derived from the label rather than from the parent's position: a fork made
 * with `fork('net')` is the same stream no matter how many numbers the parent or any sibling has
 * drawn, so adding draws in one component never reshuffles another. Labels form a path: the
 * stream `root.fork('disk').fork('n1')` has the label 'disk/n1'. Forking the same label twice gives
 * two copies of the same stream; that is on purpose (it is how a restarted component gets its
 * stream back) but means each independent user needs its own label.
 *
 * Seeds are non-negative safe integers: 32-bit and 53-bit seeds both use all their bits.
 */
import { assert } from './assert.js';

/** What a draw observer sees about the stream a number came from. */
export interface DrawStream {
  /** '/'-separated fork path; '' for the root stream. */
  readonly label: string;
  /** A 32-bit hash of `label`, computed once, so observers need not hash strings per draw. */
  readonly labelHash: number;
}

/** Called after every 32-bit draw of every stream in one family (a root and all its forks). */
export type DrawHook = (value: number, stream: DrawStream) => void;

export interface SeededRandOptions {
  readonly onDraw?: DrawHook;
}

/** Rand (src/env/rand.ts) plus what the simulator needs to observe and report it. */
export interface SeededRand extends DrawStream {
  readonly seed: number;
  /** 32-bit draws made on this stream so far. */
  readonly drawCount: number;
  nextUint32(): number;
  float(): number;
  int(maxExclusive: number): number;
  between(min: number, max: number): number;
  /** True with probability `p` (0 draws nothing and is false, 1 draws nothing and is true). */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  fork(label: string): SeededRand;
  /** Sets (or clears) the draw observer for the whole family: the root and every fork. */
  setOnDraw(hook: DrawHook | undefined): void;
}

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** murmur3's 32-bit finalizer: full avalanche of one word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3-style mix of one 32-bit word into a running hash. */
export function mixWord(h: number, word: number): number {
  let k = Math.imul(word | 0, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

/** 32-bit hash of a string's UTF-16 code units, with a hash seed to get independent hashes. */
export function hashString32(text: string, hashSeed = 0): number {
  let h = hashSeed >>> 0;
  for (let i = 0; i < text.length; i++) h = mixWord(h, text.charCodeAt(i));
  return fmix32(h ^ text.length);
}

function splitSeed(seed: number): [number, number] {
  assert(Number.isSafeInteger(seed) && seed >= 0, () => `seed must be a non-negative safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  return [lo, hi];
}

/** Four state words from (seed, label); never all zero (the one state xoshiro cannot leave). */
function deriveState(seed: number, label: string): Uint32Array {
  const [lo, hi] = splitSeed(seed);
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    let h = mixWord(0x6a09e667 + i, lo);
    h = mixWord(h, hi);
    h = mixWord(h, hashString32(label, 0x243f6a88 + i));
    state[i] = fmix32(h ^ (i * 0x9e3779b9));
  }
  if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 0x9e3779b9;
  return state;
}

interface Family {
  onDraw: DrawHook | undefined;
}

class Xoshiro128 implements SeededRand {
  readonly labelHash: number;
  private readonly s: Uint32Array;
  private draws = 0;

  constructor(
    readonly seed: number,
    readonly label: string,
    private readonly family: Family,
  ) {
    this.s = deriveState(seed, label);
    this.labelHash = hashString32(label, 0x5bd1e995);
  }

  get drawCount(): number {
    return this.draws;
  }

  nextUint32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    this.draws++;
    const hook = this.family.onDraw;
    if (hook !== undefined) hook(result, this);
    return result;
  }

  float(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  int(maxExclusive: number): number {
    assert(Number.isInteger(maxExclusive) && maxExclusive >= 1, () => `int(): bad bound ${maxExclusive}`);
    assert(maxExclusive <= TWO_POW_32, () => `int(): bound ${maxExclusive} exceeds 2^32`);
    // Rejection sampling keeps the result unbiased; at most half the draws are rejected.
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % maxExclusive;
    }
  }

  between(min: number, max: number): number {
    assert(Number.isInteger(min) && Number.isInteger(max), () => `between(): non-integer ${min}..${max}`);
    assert(min <= max, () => `between(): empty range ${min}..${max}`);
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    assert(p >= 0 && p <= 1, () => `chance(): probability ${p} out of [0, 1]`);
    if (p === 0) return false;
    if (p === 1) return true;
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick(): empty array');
    return items[this.int(items.length)] as T;
  }

  fork(label: string): SeededRand {
    assert(label.length > 0, 'fork(): empty label');
    const path = this.label === '' ? label : `${this.label}/${label}`;
    return new Xoshiro128(this.seed, path, this.family);
  }

  setOnDraw(hook: DrawHook | undefined): void {
    this.family.onDraw = hook;
  }
}

/** The root stream of `seed`. Every fork of it shares `options.onDraw`. */
export function createRand(seed: number, options: SeededRandOptions = {}): SeededRand {
  return new Xoshiro128(seed, '', { onDraw: options.onDraw });
}

/** Parses a seed as given on a command line: decimal (up to 2^53 - 1) or 0x-prefixed hex. */
export function parseSeed(text: string): number {
  const trimmed = text.trim();
  const value = /^0x[0-9a-f]+$/i.test(trimmed) ? Number.parseInt(trimmed.slice(2), 16) : /^[0-9]+$/.test(trimmed) ? Number(trimmed) : NaN;
  assert(Number.isSafeInteger(value) && value >= 0, () => `not a seed: '${text}'`);
  return value;
}
