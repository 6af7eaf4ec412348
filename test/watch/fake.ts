/**
 * A tiny in-memory stand-in for mvcc's history: a list of revisions, each with its events and
 * prev_kv, compactable. It calls hub.onApply after each write, as the applier will.
 */
import { EventType, type KeyValue } from '../../src/mvcc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import type { WatchEvent, WatchHistory, WatchResponse } from '../../src/watch/index.js';

export type Op = { put: string; value?: string } | { del: string };

export class FakeStore implements WatchHistory {
  private rev = 1;
  private compacted = -1;
  private readonly live = new Map<string, KeyValue>();
  /** All events ever, in order; compaction drops those below the compacted revision. */
  private log: WatchEvent[] = [];
  readonly applied: { rev: number; events: WatchEvent[] }[] = [];
  onApply: ((rev: number, events: WatchEvent[]) => void) | undefined;
  eventsBetweenCalls: [number, number][] = [];

  currentRevision(): number {
    return this.rev;
  }

  compactRevision(): number {
    return this.compacted;
  }

  eventsBetween(fromRev: number, toRev: number): readonly WatchEvent[] {
    if (fromRev < this.compacted) throw new Error(`history read from ${fromRev} below compaction ${this.compacted}`);
    if (toRev > this.rev) throw new Error(`history read beyond ${this.rev}`);
    this.eventsBetweenCalls.push([fromRev, toRev]);
    return this.log.filter((e) => e.kv.modRevision >= fromRev && e.kv.modRevision <= toRev);
  }

  /** One write transaction: returns its events (empty if it changed nothing). */
  txn(ops: Op[]): WatchEvent[] {
    const rev = this.rev + 1;
    const events: WatchEvent[] = [];
    for (const op of ops) {
      if ('put' in op) {
        const prev = this.live.get(op.put);
        const kv: KeyValue = {
          key: utf8(op.put),
          value: utf8(op.value ?? `v${rev}`),
          createRevision: prev?.createRevision ?? rev,
          modRevision: rev,
          version: (prev?.version ?? 0) + 1,
          lease: 0n,
        };
        this.live.set(op.put, kv);
        events.push(prev === undefined ? { type: EventType.PUT, kv } : { type: EventType.PUT, kv, prevKv: prev });
      } else {
        const prev = this.live.get(op.del);
        if (prev === undefined) continue;
        this.live.delete(op.del);
        const kv: KeyValue = { key: utf8(op.del), value: new Uint8Array(0), createRevision: 0, modRevision: rev, version: 0, lease: 0n };
        events.push({ type: EventType.DELETE, kv, prevKv: prev });
      }
    }
    if (events.length === 0) return events;
    this.rev = rev;
    this.log.push(...events);
    this.applied.push({ rev, events });
    this.onApply?.(rev, events);
    return events;
  }

  put(key: string, value?: string): WatchEvent[] {
    return this.txn([value === undefined ? { put: key } : { put: key, value }]);
  }

  del(key: string): WatchEvent[] {
    return this.txn([{ del: key }]);
  }

  compact(rev: number): void {
    this.compacted = rev;
    this.log = this.log.filter((e) => e.kv.modRevision >= rev);
  }
}

/** A readable digest of a response: "id:+key@rev" for puts, "id:-key@rev" for deletes. */
export function digest(r: WatchResponse): string[] {
  return r.events.map((e) => `${r.watchId}:${e.type === EventType.PUT ? '+' : '-'}${fromUtf8(e.kv.key)}@${e.kv.modRevision}`);
}

/** A sink that records responses and can be told to acknowledge them. */
export class Recorder {
  readonly responses: WatchResponse[] = [];
  readonly sink = (r: WatchResponse): void => {
    this.responses.push(r);
  };

  events(watchId?: number): string[] {
    return this.responses.filter((r) => watchId === undefined || r.watchId === watchId).flatMap(digest);
  }

  take(): WatchResponse[] {
    return this.responses.splice(0, this.responses.length);
  }
}
