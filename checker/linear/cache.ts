/**
 * The set of visited (linearized set, state) configurations, as an open-addressing hash table
 * over typed arrays: a JS Map of objects costs ~10x the memory and most of the search's time.
 */
export class ConfigCache {
  private capacity: number;
  private mask: number;
  private hashes: Int32Array;
  private states: Int32Array;
  private arena: Uint32Array;
  size = 0;

  constructor(
    private readonly words: number,
    private readonly maxBytes: number,
  ) {
    this.capacity = 1 << 13;
    this.mask = this.capacity - 1;
    this.hashes = new Int32Array(this.capacity);
    this.states = new Int32Array(this.capacity);
    this.arena = new Uint32Array(this.capacity * words);
  }

  /** Adds the configuration; false when already present. Throws CacheFull past maxBytes. */
  add(rawHash: number, bits: Uint32Array, state: number): boolean {
    const h = nonZero(rawHash);
    const words = this.words;
    let i = h & this.mask;
    for (;;) {
      const at = this.hashes[i] as number;
      if (at === 0) break;
      if (at === h && this.states[i] === state && this.sameBits(i * words, bits)) return false;
      i = (i + 1) & this.mask;
    }
    this.hashes[i] = h;
    this.states[i] = state;
    const arena = this.arena;
    for (let w = 0; w < words; w++) arena[i * words + w] = bits[w] as number;
    this.size++;
    if (this.size * 2 > this.capacity) this.grow();
    return true;
  }

  private sameBits(offset: number, bits: Uint32Array): boolean {
    const arena = this.arena;
    for (let w = 0; w < bits.length; w++) if (arena[offset + w] !== bits[w]) return false;
    return true;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    if (capacity * (this.words * 4 + 8) > this.maxBytes) throw new CacheFull();
    const { hashes, states, arena, words } = this;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.hashes = new Int32Array(capacity);
    this.states = new Int32Array(capacity);
    this.arena = new Uint32Array(capacity * words);
    for (let j = 0; j < hashes.length; j++) {
      const h = hashes[j] as number;
      if (h === 0) continue;
      let i = h & this.mask;
      while (this.hashes[i] !== 0) i = (i + 1) & this.mask;
      this.hashes[i] = h;
      this.states[i] = states[j] as number;
      const to = this.arena;
      for (let w = 0; w < words; w++) to[i * words + w] = arena[j * words + w] as number;
    }
  }
}

export class CacheFull extends Error {
  override readonly name = 'CacheFull';
}

function nonZero(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x === 0 ? 1 : x;
}
