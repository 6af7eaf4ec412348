/**
 * Binary codec for Raft messages between members. A batch (every message one member sends to
 * another in one tick) is: magic "TR", version u8, count varint, then each message as a
 * length-prefixed record. Entries and snapshots reuse the WAL's codecs, so an entry has one
 * byte layout on disk and on the wire. Decoding never trusts the input: every failure is a
 * PeerCodecError, never a crash, and local-only message kinds are refused.
 */
import type { Entry, Message, MessageType, Snapshot } from '../raft/index.js';
import { decodeEntry, decodeSnapshot, encodeEntry, encodeSnapshot } from '../wal/index.js';
import { nodeId, NO_NODE } from '../util/index.js';
import type { NodeId } from '../util/index.js';

export class PeerCodecError extends Error {
  override readonly name = 'PeerCodecError';
}

const MAGIC_0 = 0x54; // 'T'
const MAGIC_1 = 0x52; // 'R'
const VERSION = 1;
const FLAG_REJECT = 1;
const FLAG_SNAPSHOT = 2;

/** Codes are positions: append new kinds at the end, never reorder. */
const MESSAGE_TYPES: readonly MessageType[] = [
  'hup',
  'beat',
  'prop',
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'snap',
  'heartbeat',
  'heartbeatResp',
  'unreachable',
  'snapStatus',
  'checkQuorum',
  'transferLeader',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
];
const LOCAL_TYPES: ReadonlySet<MessageType> = new Set(['hup', 'beat', 'unreachable', 'snapStatus', 'checkQuorum']);
/** Forwarded requests carry term 0; every other peer message has a term. */
const TERMLESS_TYPES: ReadonlySet<MessageType> = new Set(['prop', 'readIndex', 'transferLeader']);

/** Writes into a buffer sized exactly beforehand (see sizeOf): no growth checks, no copies. */
class Cursor {
  at: number;
  constructor(
    readonly buf: Buffer,
    startAt: number,
  ) {
    this.at = startAt;
  }
  u8(v: number): void {
    this.buf[this.at++] = v;
  }
  varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
}

function varintBytes(value: number): number {
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

const lengthPrefixed = (length: number): number => varintBytes(length) + length;

/** Member ids as UTF-8, encoded once: every message names two of the same few members. */
const idBytesCache = new Map<string, Buffer>();
const ID_CACHE_MAX = 1024;

function idBytes(id: string): Buffer {
  let bytes = idBytesCache.get(id);
  if (bytes === undefined) {
    bytes = Buffer.from(id, 'utf8');
    if (idBytesCache.size >= ID_CACHE_MAX) idBytesCache.clear();
    idBytesCache.set(id, bytes);
  }
  return bytes;
}

/** A message with its variable parts encoded, and the size of its record. */
interface Sized {
  readonly m: Message;
  readonly from: Buffer;
  readonly to: Buffer;
  readonly entries: Uint8Array[];
  readonly snapshot: Uint8Array | undefined;
  readonly bytes: number;
}

function sized(m: Message): Sized {
  const from = idBytes(m.from);
  const to = idBytes(m.to);
  const entries = m.entries.map(encodeEntry);
  const snapshot = m.snapshot ? encodeSnapshot(m.snapshot) : undefined;
  let bytes = 1 + lengthPrefixed(from.length) + lengthPrefixed(to.length);
  bytes += varintBytes(m.term) + varintBytes(m.logTerm) + varintBytes(m.index) + varintBytes(m.commit) + 1;
  bytes += varintBytes(m.rejectHint) + varintBytes(m.hintTerm) + lengthPrefixed(m.context.length);
  bytes += varintBytes(entries.length);
  for (const e of entries) bytes += lengthPrefixed(e.length);
  if (snapshot !== undefined) bytes += lengthPrefixed(snapshot.length);
  return { m, from, to, entries, snapshot, bytes };
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}
  get remaining(): number {
    return this.buf.length - this.at;
  }
  u8(): number {
    if (this.at >= this.buf.length) throw new PeerCodecError('truncated message');
    return this.buf[this.at++] as number;
  }
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) throw new PeerCodecError('varint beyond 2^53');
        return value;
      }
      scale *= 0x80;
    }
    throw new PeerCodecError('varint too long');
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (n > this.remaining) throw new PeerCodecError(`length ${n} overruns the message`);
    // A plain copy: decoded messages never pin (or alias) the network buffer, and are never Buffers.
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return out;
  }
  /**
   * A length-prefixed field as a plain Uint8Array view of the input, for a decoder that copies
   * what it keeps (the WAL's entry and snapshot decoders slice, which copies on a Uint8Array;
   * on a Buffer it would not, hence never a Buffer view).
   */
  view(): Uint8Array {
    const n = this.varint();
    if (n > this.remaining) throw new PeerCodecError(`length ${n} overruns the message`);
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.at, n);
    this.at += n;
    return out;
  }
  string(): string {
    const n = this.varint();
    if (n > this.remaining) throw new PeerCodecError(`length ${n} overruns the message`);
    const start = this.at;
    this.at += n;
    // Member ids are short ASCII hex: build them directly instead of through a Buffer.
    let s = '';
    for (let i = start; i < start + n; i++) {
      const c = this.buf[i] as number;
      if (c >= 0x80) return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, n).toString('utf8');
      s += String.fromCharCode(c);
    }
    return s;
  }
}

function writeMessage(w: Cursor, x: Sized): void {
  const m = x.m;
  w.varint(x.bytes);
  w.u8(MESSAGE_TYPES.indexOf(m.type));
  w.bytes(x.from);
  w.bytes(x.to);
  w.varint(m.term);
  w.varint(m.logTerm);
  w.varint(m.index);
  w.varint(m.commit);
  w.u8((m.reject ? FLAG_REJECT : 0) | (m.snapshot ? FLAG_SNAPSHOT : 0));
  w.varint(m.rejectHint);
  w.varint(m.hintTerm);
  w.bytes(m.context);
  w.varint(x.entries.length);
  for (const e of x.entries) w.bytes(e);
  if (x.snapshot !== undefined) w.bytes(x.snapshot);
}

function guarded<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof PeerCodecError) throw error;
    throw new PeerCodecError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function id(text: string, what: string, allowNone: boolean): NodeId {
  if (text === '') {
    if (allowNone) return NO_NODE;
    throw new PeerCodecError(`${what} id is empty`);
  }
  return nodeId(text);
}

function readMessage(r: Reader): Message {
  const type = MESSAGE_TYPES[r.u8()];
  if (type === undefined) throw new PeerCodecError('unknown message type');
  if (LOCAL_TYPES.has(type)) throw new PeerCodecError(`local message type ${type} on the wire`);
  const from = id(r.string(), 'from', false);
  const to = id(r.string(), 'to', false);
  const term = r.varint();
  const logTerm = r.varint();
  const index = r.varint();
  const commit = r.varint();
  const flags = r.u8();
  if ((flags & ~(FLAG_REJECT | FLAG_SNAPSHOT)) !== 0) throw new PeerCodecError(`unknown flags ${flags}`);
  const rejectHint = r.varint();
  const hintTerm = r.varint();
  const context = r.bytes();
  const count = r.varint();
  if (count > r.remaining) throw new PeerCodecError(`entry count ${count} overruns the message`);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push(guarded('entry', () => decodeEntry(r.view())));
  const base: Message = { type, from, to, term, logTerm, index, entries, commit, reject: (flags & FLAG_REJECT) !== 0, rejectHint, hintTerm, context };
  if ((flags & FLAG_SNAPSHOT) === 0) return base;
  const snapshot: Snapshot = guarded('snapshot', () => decodeSnapshot(r.view()));
  return { ...base, snapshot };
}

/** What Raft's step() asserts, checked first so a bad peer cannot stop this member. */
export function checkMessage(m: Message, self: NodeId): void {
  if (m.to !== self) throw new PeerCodecError(`message for ${m.to} delivered to ${self}`);
  if (m.term === 0 && !TERMLESS_TYPES.has(m.type)) throw new PeerCodecError(`${m.type} without a term`);
  if (m.type === 'snap' && m.snapshot === undefined) throw new PeerCodecError('snap message without a snapshot');
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as Entry;
    if (m.type === 'app' && e.index !== m.index + 1 + i) throw new PeerCodecError('append entries are not contiguous');
  }
}

export function encodeBatch(messages: readonly Message[]): Buffer {
  return encodeInto(messages, 0);
}

/**
 * frame(encodeBatch(messages)) in one buffer: each message's parts are encoded once and copied
 * once, into a buffer sized exactly up front.
 */
export function encodeFrame(messages: readonly Message[]): Buffer {
  const out = encodeInto(messages, 4);
  out.writeUInt32BE(out.length - 4, 0);
  return out;
}

function encodeInto(messages: readonly Message[], headBytes: number): Buffer {
  const all = messages.map(sized);
  let bytes = headBytes + 3 + varintBytes(all.length);
  for (const x of all) bytes += lengthPrefixed(x.bytes);
  const w = new Cursor(Buffer.allocUnsafe(bytes), headBytes);
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(VERSION);
  w.varint(all.length);
  for (const x of all) writeMessage(w, x);
  if (w.at !== bytes) throw new Error(`peer codec sized ${bytes} bytes but wrote ${w.at}`);
  return w.buf;
}

export function decodeBatch(bytes: Uint8Array): Message[] {
  const r = new Reader(bytes);
  if (r.u8() !== MAGIC_0 || r.u8() !== MAGIC_1) throw new PeerCodecError('bad magic: not a Raft message batch');
  const version = r.u8();
  if (version !== VERSION) throw new PeerCodecError(`unsupported batch version ${version}`);
  const count = r.varint();
  if (count > r.remaining) throw new PeerCodecError(`message count ${count} overruns the batch`);
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    const record = new Reader(r.view());
    out.push(readMessage(record));
    if (record.remaining !== 0) throw new PeerCodecError(`${record.remaining} trailing bytes after a message`);
  }
  if (r.remaining !== 0) throw new PeerCodecError(`${r.remaining} trailing bytes after the batch`);
  return out;
}

/**
 * Splits a byte stream into length-prefixed frames (u32 BE length, then the frame). Chunks are
 * kept as a list and joined once per frame, so a large frame costs one copy.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds a chunk and returns the frames it completed; throws PeerCodecError on an oversized frame. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.bufferedBytes < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) throw new PeerCodecError(`frame of ${length} bytes exceeds ${this.maxFrameBytes}`);
      if (this.bufferedBytes < 4 + length) break;
      const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      frames.push(all.subarray(4, 4 + length));
      const rest = all.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
    }
    return frames;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }
}

export function frame(payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}
