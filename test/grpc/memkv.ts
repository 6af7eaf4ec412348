/**
 * A throwaway, Map-backed EtcdServices good enough to prove wire compatibility with real
 * clients: revisions, create/mod revision and version, range with range_end / prefix / limit /
 * count / keys_only / sort, put with prev_kv, delete range, txn with compares, one member,
 * status, watches (live events only, no history), leases without expiry, a fake snapshot.
 * No history: reads and watches at an old revision are refused.
 */
import { createHash } from 'node:crypto';
import { compareBytes, toHex } from '../../src/util/index.js';
import { GrpcCode, unimplementedServices } from '../../src/grpc/index.js';
import type {
  Compare, EtcdServices, EventInit, GrpcStatusError, KeyValue, RequestOp, ResponseHeaderInit, ResponseOpInit,
  WatchRequest, WatchResponseInit, BidiStream,
} from '../../src/grpc/index.js';

export const CLUSTER_ID = 0x1c2d3e4f5a6b7c8dn;
export const MEMBER_ID = 0x8e9cbc3e7a4c2f01n;

interface Stored {
  readonly kv: KeyValue;
}

interface Watcher {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  deliver(events: EventInit[]): void;
}

function inRange(key: Uint8Array, from: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (rangeEnd.length === 0) return compareBytes(key, from) === 0;
  const all = rangeEnd.length === 1 && rangeEnd[0] === 0;
  return compareBytes(key, from) >= 0 && (all || compareBytes(key, rangeEnd) < 0);
}

function fail(grpcCode: number, message: string): never {
  const error: GrpcStatusError = { grpcCode, message };
  throw error;
}

/** A stand-in backend file: a whole number of 512-byte blocks, as etcdctl expects. */
export function snapshotData(): Buffer {
  return Buffer.alloc(16 * 1024, 'memkv snapshot ');
}

export class MemKv {
  revision = 1n;
  private readonly data = new Map<string, Stored>();
  readonly watchers = new Set<Watcher>();
  readonly leases = new Map<bigint, bigint>();
  nextLeaseId = 0x694d7a2b3c4d5e00n;
  /** Events of the write in progress, delivered to watchers when it completes. */
  private pending: EventInit[] = [];

  flushEvents(): void {
    const events = this.pending;
    this.pending = [];
    if (events.length === 0) return;
    for (const w of this.watchers) {
      const mine = events.filter((e) => e.kv?.key !== undefined && inRange(e.kv.key, w.key, w.rangeEnd));
      if (mine.length > 0) w.deliver(mine);
    }
  }

  header(): ResponseHeaderInit {
    return { clusterId: CLUSTER_ID, memberId: MEMBER_ID, revision: this.revision, raftTerm: 2n };
  }

  /** Keys in [key, rangeEnd) in byte order; empty rangeEnd means just `key`, "\0" means all >= key. */
  private select(key: Uint8Array, rangeEnd: Uint8Array): KeyValue[] {
    if (rangeEnd.length === 0) {
      const one = this.data.get(toHex(key));
      return one === undefined ? [] : [one.kv];
    }
    const all = rangeEnd.length === 1 && rangeEnd[0] === 0;
    const out: KeyValue[] = [];
    for (const { kv } of this.data.values()) {
      if (compareBytes(kv.key, key) >= 0 && (all || compareBytes(kv.key, rangeEnd) < 0)) out.push(kv);
    }
    return out.sort((a, b) => compareBytes(a.key, b.key));
  }

  range(req: {
    key: Uint8Array; rangeEnd: Uint8Array; limit: bigint; revision: bigint; sortOrder: number;
    keysOnly: boolean; countOnly: boolean;
  }): { kvs: KeyValue[]; more: boolean; count: bigint } {
    if (req.revision > 0n && req.revision !== this.revision) {
      if (req.revision > this.revision) fail(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
      fail(GrpcCode.UNIMPLEMENTED, 'memkv keeps no history');
    }
    let kvs = this.select(req.key, req.rangeEnd);
    if (req.sortOrder === 2) kvs.reverse();
    const count = BigInt(kvs.length);
    const more = req.limit > 0n && kvs.length > Number(req.limit);
    if (req.limit > 0n) kvs = kvs.slice(0, Number(req.limit));
    if (req.countOnly) kvs = [];
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
    return { kvs, more, count };
  }

  /** Writes at `revision` (the caller bumps the store revision once per request or txn). */
  put(key: Uint8Array, value: Uint8Array, revision: bigint): KeyValue | undefined {
    const prev = this.data.get(toHex(key))?.kv;
    const kv: KeyValue = {
      key,
      value,
      createRevision: prev?.createRevision ?? revision,
      modRevision: revision,
      version: (prev?.version ?? 0n) + 1n,
      lease: 0n,
    };
    this.data.set(toHex(key), { kv });
    this.pending.push({ type: 0, kv, prevKv: prev });
    return prev;
  }

  deleteRange(key: Uint8Array, rangeEnd: Uint8Array): KeyValue[] {
    const victims = this.select(key, rangeEnd);
    for (const kv of victims) {
      this.data.delete(toHex(kv.key));
      this.pending.push({ type: 1, kv: { key: kv.key, modRevision: this.revision }, prevKv: kv });
    }
    return victims;
  }

  compare(c: Compare): boolean {
    const kv = this.data.get(toHex(c.key))?.kv;
    const target = c.targetUnion;
    if (target === undefined) return false;
    let cmp: number;
    if (target.case === 'value') {
      if (kv === undefined) return false;
      cmp = compareBytes(kv.value, target.value);
    } else {
      const actual = {
        version: kv?.version ?? 0n,
        createRevision: kv?.createRevision ?? 0n,
        modRevision: kv?.modRevision ?? 0n,
        lease: kv?.lease ?? 0n,
      }[target.case];
      cmp = actual < target.value ? -1 : actual > target.value ? 1 : 0;
    }
    switch (c.result) {
      case 0: return cmp === 0;
      case 1: return cmp > 0;
      case 2: return cmp < 0;
      case 3: return cmp !== 0;
      default: return false;
    }
  }

  applyOp(op: RequestOp, revision: bigint): ResponseOpInit {
    const r = op.request;
    if (r === undefined) fail(GrpcCode.INVALID_ARGUMENT, 'etcdserver: empty request');
    switch (r.case) {
      case 'requestRange':
        return { response: { case: 'responseRange', value: { header: this.header(), ...this.range(r.value) } } };
      case 'requestPut': {
        const prev = this.put(r.value.key, r.value.value, revision);
        const prevKv = r.value.prevKv ? prev : undefined;
        return { response: { case: 'responsePut', value: { header: this.header(), prevKv } } };
      }
      case 'requestDeleteRange': {
        const gone = this.deleteRange(r.value.key, r.value.rangeEnd);
        const value = { header: this.header(), deleted: BigInt(gone.length), prevKvs: r.value.prevKv ? gone : [] };
        return { response: { case: 'responseDeleteRange', value } };
      }
      case 'requestTxn':
        return fail(GrpcCode.UNIMPLEMENTED, 'memkv does not nest transactions');
    }
  }
}

function isWrite(op: RequestOp): boolean {
  return op.request?.case === 'requestPut' || op.request?.case === 'requestDeleteRange';
}

export function memKvServices(kv: MemKv = new MemKv()): EtcdServices {
  return {
    ...unimplementedServices(),
    range: async (req) => ({ header: kv.header(), ...kv.range(req) }),
    put: async (req) => {
      if (req.key.length === 0) fail(GrpcCode.INVALID_ARGUMENT, 'etcdserver: key is not provided');
      kv.revision++;
      const prev = kv.put(req.key, req.value, kv.revision);
      kv.flushEvents();
      return { header: kv.header(), prevKv: req.prevKv ? prev : undefined };
    },
    deleteRange: async (req) => {
      const matched = kv.range({ ...req, limit: 0n, revision: 0n, sortOrder: 0, keysOnly: false, countOnly: false });
      if (matched.kvs.length > 0) kv.revision++;
      const gone = kv.deleteRange(req.key, req.rangeEnd);
      kv.flushEvents();
      return { header: kv.header(), deleted: BigInt(gone.length), prevKvs: req.prevKv ? gone : [] };
    },
    txn: async (req) => {
      const succeeded = req.compare.every((c) => kv.compare(c));
      const ops = succeeded ? req.success : req.failure;
      const writes = ops.some(isWrite);
      const revision = writes ? kv.revision + 1n : kv.revision;
      kv.revision = revision;
      const responses = ops.map((op) => kv.applyOp(op, revision));
      kv.flushEvents();
      return { header: kv.header(), succeeded, responses };
    },
    watch: (stream, _ctx) => serveWatch(kv, stream),
    leaseGrant: async (req) => {
      const ID = req.ID !== 0n ? req.ID : kv.nextLeaseId++;
      kv.leases.set(ID, req.TTL);
      return { header: kv.header(), ID, TTL: req.TTL };
    },
    leaseRevoke: async (req) => {
      if (!kv.leases.delete(req.ID)) fail(GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found');
      return { header: kv.header() };
    },
    leaseKeepAlive: async (stream) => {
      for await (const req of stream) {
        await stream.send({ header: kv.header(), ID: req.ID, TTL: kv.leases.get(req.ID) ?? 0n });
      }
    },
    snapshot: async (_req, out) => {
      // etcd streams the backend file followed by its SHA-256, which etcdctl verifies.
      const data = snapshotData();
      const blob = Buffer.concat([data, createHash('sha256').update(data).digest()]);
      const chunkBytes = 4096;
      for (let at = 0; at < blob.length; at += chunkBytes) {
        const chunk = blob.subarray(at, at + chunkBytes);
        await out.send({ header: kv.header(), remainingBytes: BigInt(blob.length - at - chunk.length), blob: chunk });
      }
    },
    memberList: async () => ({
      header: kv.header(),
      members: [{ ID: MEMBER_ID, name: 'memkv', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'] }],
    }),
    status: async () => ({
      header: kv.header(),
      version: '3.4.23',
      dbSize: 24576n,
      dbSizeInUse: 16384n,
      leader: MEMBER_ID,
      raftIndex: 42n,
      raftTerm: 2n,
      raftAppliedIndex: 42n,
    }),
  };
}

async function serveWatch(kv: MemKv, stream: BidiStream<WatchRequest, WatchResponseInit>): Promise<void> {
  const mine = new Map<bigint, Watcher>();
  let nextId = 0n;
  const send = (response: WatchResponseInit): void => {
    stream.send(response).catch(() => undefined);
  };
  try {
    for await (const req of stream) {
      const r = req.requestUnion;
      if (r?.case === 'createRequest') {
        const c = r.value;
        if (c.startRevision > 0n && c.startRevision <= kv.revision) {
          fail(GrpcCode.UNIMPLEMENTED, 'memkv keeps no history to watch from');
        }
        const watchId = c.watchId !== 0n ? c.watchId : nextId++;
        const watcher: Watcher = {
          key: c.key,
          rangeEnd: c.rangeEnd,
          deliver: (events) => {
            const visible = events
              .filter((e) => !c.filters.includes(e.type ?? 0))
              .map((e) => (c.prevKv ? e : { ...e, prevKv: undefined }));
            if (visible.length > 0) send({ header: kv.header(), watchId, events: visible });
          },
        };
        mine.set(watchId, watcher);
        await stream.send({ header: kv.header(), watchId, created: true });
        kv.watchers.add(watcher);
      } else if (r?.case === 'cancelRequest') {
        const watcher = mine.get(r.value.watchId);
        if (watcher !== undefined) kv.watchers.delete(watcher);
        mine.delete(r.value.watchId);
        await stream.send({ header: kv.header(), watchId: r.value.watchId, canceled: true });
      } else if (r?.case === 'progressRequest') {
        await stream.send({ header: kv.header(), watchId: -1n });
      }
    }
  } finally {
    for (const watcher of mine.values()) kv.watchers.delete(watcher);
  }
}
