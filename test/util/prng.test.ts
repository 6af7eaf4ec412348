import { describe, expect, it } from 'vitest';
import { createRand, parseSeed } from '../../src/util/index.js';
import type { Rand } from '../../src/env/index.js';

function draws(rand: { nextUint32(): number }, n: number): number[] {
  return Array.from({ length: n }, () => rand.nextUint32());
}

describe('createRand (xoshiro128**)', () => {
  it('is a Rand: the same seed gives the same sequence, different seeds differ', () => {
    const rand: Rand = createRand(42);
    const a = draws(rand, 100);
    expect(draws(createRand(42), 100)).toEqual(a);
    expect(draws(createRand(43), 100)).not.toEqual(a);
    for (const x of a) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
    // A real generator does not repeat within a short window.
    expect(new Set(a).size).toBe(100);
  });

  it('uses all 53 bits of a seed: seeds differing only above bit 32 differ', () => {
    const low = draws(createRand(7), 8);
    const high = draws(createRand(7 + 2 ** 40), 8);
    const top = draws(createRand(Number.MAX_SAFE_INTEGER), 8);
    expect(high).not.toEqual(low);
    expect(top).not.toEqual(low);
    expect(() => createRand(-1)).toThrow(/seed/);
    expect(() => createRand(1.5)).toThrow(/seed/);
    expect(() => createRand(2 ** 53)).toThrow(/seed/);
  });

  it('fork derives from (seed, label), not from the position of the parent', () => {
    const rootA = createRand(9);
    const rootB = createRand(9);
    draws(rootB, 1000); // the parent's position must not matter
    const netA = rootA.fork('net');
    const netB = rootB.fork('net');
    expect(draws(netA, 50)).toEqual(draws(netB, 50));
    // Draws in a sibling do not change this stream.
    const diskA = createRand(9).fork('disk');
    const diskB = createRand(9).fork('disk');
    const clockB = createRand(9).fork('clock');
    draws(clockB, 777);
    expect(draws(diskA, 20)).toEqual(draws(diskB, 20));
    // Different labels and different paths are different streams.
    expect(draws(createRand(9).fork('net'), 10)).not.toEqual(draws(createRand(9).fork('disk'), 10));
    expect(draws(createRand(9).fork('a').fork('b'), 10)).not.toEqual(draws(createRand(9).fork('b').fork('a'), 10));
    expect(createRand(9).fork('a').fork('b').label).toBe('a/b');
    // A fork is not the root and not shifted copies of it.
    const root = draws(createRand(9), 10);
    const fork = draws(createRand(9).fork('x'), 10);
    expect(fork.some((x) => root.includes(x))).toBe(false);
  });

  it('int, between, float, chance and pick stay in range and cover it', () => {
    const rand = createRand(123);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) {
      const v = rand.int(6);
      counts[v] = (counts[v] ?? 0) + 1;
    }
    // Roughly uniform: each face within 15% of 1000.
    for (const c of counts) expect(c).toBeGreaterThan(850);
    for (const c of counts) expect(c).toBeLessThan(1150);
    for (let i = 0; i < 1000; i++) {
      const b = rand.between(-3, 3);
      expect(b >= -3 && b <= 3 && Number.isInteger(b)).toBe(true);
      const f = rand.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(rand.between(5, 5)).toBe(5);
    expect(rand.int(2 ** 32)).toBeLessThan(2 ** 32);
    expect(() => rand.int(0)).toThrow();
    expect(() => rand.between(2, 1)).toThrow();
    let heads = 0;
    for (let i = 0; i < 10000; i++) if (rand.chance(0.25)) heads++;
    expect(heads).toBeGreaterThan(2300);
    expect(heads).toBeLessThan(2700);
    const before = rand.drawCount;
    expect(rand.chance(0)).toBe(false);
    expect(rand.chance(1)).toBe(true);
    expect(rand.drawCount).toBe(before);
    const picked = new Set(Array.from({ length: 200 }, () => rand.pick(['a', 'b', 'c'])));
    expect([...picked].sort()).toEqual(['a', 'b', 'c']);
  });

  it('onDraw observes every draw of the whole family, with the stream label', () => {
    const seen: string[] = [];
    const root = createRand(5, { onDraw: (value, stream) => seen.push(`${stream.label}:${value}`) });
    const net = root.fork('net');
    const v1 = root.nextUint32();
    const v2 = net.nextUint32();
    expect(seen).toEqual([`:${v1}`, `net:${v2}`]);
    net.setOnDraw(undefined);
    root.nextUint32();
    expect(seen.length).toBe(2);
    const late = net.fork('late');
    root.setOnDraw((value, stream) => seen.push(`${stream.label}:${value}`));
    const v3 = late.nextUint32();
    expect(seen[2]).toBe(`net/late:${v3}`);
    expect(late.labelHash).not.toBe(net.labelHash);
  });

  it('parseSeed accepts decimal and hex up to 2^53-1', () => {
    expect(parseSeed('42')).toBe(42);
    expect(parseSeed('0xff')).toBe(255);
    expect(parseSeed(' 9007199254740991 ')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseSeed('9007199254740992')).toThrow();
    expect(() => parseSeed('-1')).toThrow();
    expect(() => parseSeed('abc')).toThrow();
  });
});
