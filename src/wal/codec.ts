import { assert, fromUtf8, nodeId, utf8 } from '../util/index.js';
import type { NodeId } from '../util/index.js';
import type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  Snapshot,
} from '../raft/types.js';
import { CodecError } from './errors.js';

/**
 * Compact binary codecs for what the WAL and snapshot files store. Numbers are unsigned LEB128
 * varints (terms and indexes stay small for years); strings and byte strings are
 * length-prefixed, except a trailing byte payload, which takes the rest of the buffer.
 */

const MAX_VARINT_BYTES = 8; // 7 * 8 = 56 bits > 2^53

/** Growable output buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private lengthBytes = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(Math.max(16, initialBytes));
  }

  get length(): number {
    return this.lengthBytes;
  }

  private reserve(moreBytes: number): void {
    const need = this.lengthBytes + moreBytes;
    if (need <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < need) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(0, this.lengthBytes));
    this.buf = next;
  }

  u8(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, `u8 out of range: ${value}`);
    this.reserve(1);
    this.buf[this.lengthBytes++] = value;
  }

  u32(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, `u32 out of range: ${value}`);
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.lengthBytes, value, true);
    this.lengthBytes += 4;
  }

  varint(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, `varint out of range: ${value}`);
    this.reserve(MAX_VARINT_BYTES);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.lengthBytes++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.lengthBytes++] = v;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.lengthBytes);
    this.lengthBytes += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.raw(bytes);
  }

  string(text: string): void {
    this.bytes(utf8(text));
  }

  /** The written bytes (a view; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.lengthBytes);
  }
}

/** Cursor over an input buffer; every read is bounds-checked and throws CodecError. */
export class ByteReader {
  private offset = 0;

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  u8(): number {
    if (this.remaining < 1) throw new CodecError('unexpected end reading u8');
    return this.buf[this.offset++] as number;
  }

  u32(): number {
    if (this.remaining < 4) throw new CodecError('unexpected end reading u32');
    const value = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) throw new CodecError(`varint exceeds 2^53: ${value}`);
        return value;
      }
      scale *= 0x80;
    }
    throw new CodecError('varint too long');
  }

  /** A copy, so decoded values never pin a large file buffer in memory. */
  raw(lengthBytes: number): Uint8Array {
    if (this.remaining < lengthBytes) {
      throw new CodecError(`unexpected end: need ${lengthBytes} bytes, have ${this.remaining}`);
    }
    const out = this.buf.slice(this.offset, this.offset + lengthBytes);
    this.offset += lengthBytes;
    return out;
  }

  bytes(): Uint8Array {
    return this.raw(this.varint());
  }

  string(): string {
    return fromUtf8(this.bytes());
  }

  rest(): Uint8Array {
    return this.raw(this.remaining);
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new CodecError(`${this.remaining} trailing bytes after ${what}`);
  }
}

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

function enumCode<T>(values: readonly T[], value: T, what: string): number {
  const code = values.indexOf(value);
  assert(code >= 0, `unknown ${what}: ${String(value)}`);
  return code;
}

function enumValue<T>(values: readonly T[], code: number, what: string): T {
  const value = values[code];
  if (value === undefined) throw new CodecError(`unknown ${what} code ${code}`);
  return value;
}

function nodeIdOrNone(text: string): NodeId {
  return text === '' ? ('' as NodeId) : nodeId(text);
}

function writeEntry(w: ByteWriter, entry: Entry): void {
  w.u8(enumCode(ENTRY_TYPES, entry.type, 'entry type'));
  w.varint(entry.term);
  w.varint(entry.index);
  w.raw(entry.data);
}

/** type u8, term varint, index varint, data (the rest). */
export function encodeEntry(entry: Entry): Uint8Array {
  const w = new ByteWriter(entry.data.length + 24);
  writeEntry(w, entry);
  return w.finish();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new ByteReader(bytes);
  const type = enumValue(ENTRY_TYPES, r.u8(), 'entry type');
  const term = r.varint();
  const index = r.varint();
  return { term, index, type, data: r.rest() };
}

export function encodeHardState(hs: HardState): Uint8Array {
  const w = new ByteWriter(32);
  w.varint(hs.term);
  w.varint(hs.commit);
  w.string(hs.vote);
  return w.finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new ByteReader(bytes);
  const term = r.varint();
  const commit = r.varint();
  const vote = nodeIdOrNone(r.string());
  r.end('hardState');
  return { term, vote, commit };
}

function writeIds(w: ByteWriter, ids: readonly NodeId[]): void {
  w.varint(ids.length);
  for (const id of ids) w.string(id);
}

function readIds(r: ByteReader): NodeId[] {
  const count = r.varint();
  if (count > r.remaining) throw new CodecError(`id count ${count} exceeds the buffer`);
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) ids.push(nodeId(r.string()));
  return ids;
}

/** index, term, voters, learners, data (the rest). */
export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const w = new ByteWriter(snapshot.data.length + 64);
  w.varint(snapshot.meta.index);
  w.varint(snapshot.meta.term);
  writeIds(w, snapshot.meta.confState.voters);
  writeIds(w, snapshot.meta.confState.learners);
  w.raw(snapshot.data);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const r = new ByteReader(bytes);
  const index = r.varint();
  const term = r.varint();
  const confState: ConfState = { voters: readIds(r), learners: readIds(r) };
  return { meta: { index, term, confState }, data: r.rest() };
}

/** Who wrote this WAL; every segment repeats it, and open checks they agree. */
export interface WalMetadata {
  readonly nodeId: NodeId;
  readonly clusterId: string;
}

/** A snapshot the node has taken or installed: entries up to `index` live in the snapshot. */
export interface WalSnapshotMarker {
  readonly index: number;
  readonly term: number;
}

export function encodeMetadata(metadata: WalMetadata): Uint8Array {
  const w = new ByteWriter(48);
  w.string(metadata.nodeId);
  w.string(metadata.clusterId);
  return w.finish();
}

export function decodeMetadata(bytes: Uint8Array): WalMetadata {
  const r = new ByteReader(bytes);
  const id = r.string();
  const clusterId = r.string();
  r.end('metadata');
  if (id === '') throw new CodecError('metadata without node id');
  return { nodeId: nodeId(id), clusterId };
}

/** A marker as stored: `replacesLog` when it records a snapshot installed from the leader. */
export interface StoredMarker extends WalSnapshotMarker {
  readonly replacesLog: boolean;
}

const MARKER_REPLACES_LOG = 1;

/** index varint, term varint, flags varint (bit 0: replaces the log). */
export function encodeMarker(marker: StoredMarker): Uint8Array {
  const w = new ByteWriter(16);
  w.varint(marker.index);
  w.varint(marker.term);
  w.varint(marker.replacesLog ? MARKER_REPLACES_LOG : 0);
  return w.finish();
}

export function decodeMarker(bytes: Uint8Array): StoredMarker {
  const r = new ByteReader(bytes);
  const index = r.varint();
  const term = r.varint();
  const flags = r.varint();
  r.end('snapshot marker');
  if ((flags & ~MARKER_REPLACES_LOG) !== 0) throw new CodecError(`unknown marker flags ${flags}`);
  return { index, term, replacesLog: (flags & MARKER_REPLACES_LOG) !== 0 };
}
