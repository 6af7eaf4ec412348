/** Key rotation and byte helpers shared by the workloads. */
import type { SeededRand } from '../../src/util/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function text(b: Uint8Array): string {
  return decoder.decode(b);
}

/**
 * `width` keys in use at a time; a key that has been handed out `usesPerKey` times is retired
 * and replaced by a fresh name, so no key's history grows without bound.
 */
export class KeyPool {
  private readonly active: { name: string; uses: number }[] = [];
  private nextId = 0;

  constructor(
    private readonly prefix: string,
    width: number,
    private readonly usesPerKey: number,
    private readonly rand: SeededRand,
  ) {
    for (let i = 0; i < width; i++) this.active.push(this.fresh());
  }

  private fresh(): { name: string; uses: number } {
    return { name: `${this.prefix}${this.nextId++}`, uses: 0 };
  }

  take(): string {
    const i = this.rand.int(this.active.length);
    const slot = this.active[i] as { name: string; uses: number };
    slot.uses++;
    if (slot.uses >= this.usesPerKey) this.active[i] = this.fresh();
    return slot.name;
  }

  /** `count` distinct keys (fewer if the pool is smaller). */
  takeDistinct(count: number): string[] {
    const keys = new Set<string>();
    for (let tries = 0; keys.size < Math.min(count, this.active.length) && tries < 4 * count; tries++) keys.add(this.take());
    return [...keys];
  }
}
