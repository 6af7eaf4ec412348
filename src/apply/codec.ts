import { copyBytes } from '../mvcc/index.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../util/bytes.js';

/**
 * Raft entry payloads. Two formats, both decoded forever because old WAL entries stay readable:
 *
 * - Binary (written now): 0x00 0x01, then one tagged value. JSON text never starts with a NUL
 *   byte, so the first byte tells the formats apart. A put of 16 + 256 bytes takes ~300 bytes
 *   instead of JSON's ~470 (no base64), and encoding is a single pass into one buffer.
 * - Put (written now for `{ put, header? }`): 0x00 0x02, then the put's fields in a fixed layout
 *   with no field names or tags (writePut). It decodes to exactly what 0x01 would, so which of
 *   the two a put takes changes nothing but the cost: every member decodes every entry.
 * - JSON (written before): bytes as {"$b": base64} and 64-bit ids as {"$n": decimal}.
 *
 * The binary form decodes to exactly what the JSON form would: properties whose value is
 * undefined are dropped, undefined array slots and non-finite numbers become null, -0 becomes 0.
 * Values the binary form does not model (objects with toJSON or a non-plain prototype, functions,
 * symbols, strings with lone surrogates, objects that look like the JSON escapes) make the whole
 * payload fall back to JSON, so no input decodes differently from before. Deterministic: the
 * same value always gives the same bytes.
 */
export function encodePayload(value: unknown): Uint8Array {
  const writer = scratchWriter;
  writer.reset();
  writer.byte(BINARY_MARK);
  writer.byte(PUT_VERSION);
  if (writePut(writer, value)) return writer.finish();
  writer.reset();
  writer.byte(BINARY_MARK);
  writer.byte(BINARY_VERSION);
  if (!writeValue(writer, value)) return encodeJson(value);
  return writer.finish();
}

export function decodePayload<T>(bytes: Uint8Array): T {
  if (bytes.length > 0 && bytes[0] === BINARY_MARK) return decodeBinary(bytes) as T;
  // A walk after a plain parse instead of a reviver: same result, several times faster.
  return fromJsonable(JSON.parse(fromUtf8(bytes))) as T;
}

const BINARY_MARK = 0x00;
const BINARY_VERSION = 0x01;
/** A client put, the most common entry, in a fixed layout: see writePut. */
const PUT_VERSION = 0x02;

const Tag = {
  null: 1,
  false: 2,
  true: 3,
  int: 4, // zigzag varint, |n| < 2^31
  float: 5, // float64 little-endian
  string: 6, // varint byte length, UTF-8
  bytes: 7, // varint length, raw
  bigint: 8, // varint length, decimal ASCII
  array: 9, // varint count, values
  object: 10, // varint count, (varint length, UTF-8 key, value)*
} as const;

// ---- encoding -----------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** ES2024's String.prototype.isWellFormed (Node 20 has it; the compiler's lib is older). */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** One growable buffer, reused across calls: the node loop is single-threaded. */
class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  at = 0;

  reset(): void {
    this.at = 0;
  }

  private ensure(extraBytes: number): void {
    if (this.at + extraBytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + extraBytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.at++] = b;
  }

  varint(n: number): void {
    this.ensure(5);
    while (n >= 0x80) {
      this.buf[this.at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.at++] = n;
  }

  float(n: number): void {
    this.ensure(8);
    this.view.setFloat64(this.at, n, true);
    this.at += 8;
  }

  raw(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** Length-prefixed UTF-8; false for a string with a lone surrogate (JSON keeps those). */
  string(s: string): boolean {
    const n = s.length;
    if (n < 128) {
      // Short ASCII (field names, user names) without TextEncoder's per-call cost.
      this.ensure(1 + n);
      const start = this.at;
      this.buf[start] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[start + 1 + i] = c;
      }
      if (i === n) {
        this.at = start + 1 + n;
        return true;
      }
    }
    if (!(s as unknown as WellFormedCheck).isWellFormed()) return false;
    const encoded = encoder.encode(s);
    this.raw(encoded);
    return true;
  }

  /** A copy from a shared slab: a fresh ArrayBuffer per payload cost more than the encoding. */
  finish(): Uint8Array {
    return copyBytes(this.buf.subarray(0, this.at));
  }
}

const scratchWriter = new Writer();

/** Appends one value; false when the value needs the JSON form. */
function writeValue(w: Writer, v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      w.byte(Tag.string);
      return w.string(v);
    case 'number':
      writeNumber(w, v);
      return true;
    case 'boolean':
      w.byte(v ? Tag.true : Tag.false);
      return true;
    case 'bigint':
      w.byte(Tag.bigint);
      return w.string(v.toString());
    case 'object':
      return writeObject(w, v);
    default:
      // undefined at the top level, functions, symbols: JSON has its own rules for these.
      return false;
  }
}

function writeNumber(w: Writer, n: number): void {
  if (!Number.isFinite(n)) {
    w.byte(Tag.null); // JSON writes NaN and the infinities as null
  } else if (Number.isInteger(n) && n >= -0x8000_0000 && n < 0x8000_0000) {
    w.byte(Tag.int);
    w.varint(((n << 1) ^ (n >> 31)) >>> 0); // -0 becomes 0, as in JSON
  } else {
    w.byte(Tag.float);
    w.float(n);
  }
}

function writeObject(w: Writer, v: object | null): boolean {
  if (v === null) {
    w.byte(Tag.null);
    return true;
  }
  if (v instanceof Uint8Array) {
    w.byte(Tag.bytes);
    w.raw(v);
    return true;
  }
  if (Array.isArray(v)) return writeArray(w, v);
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let count = 0;
  for (const key of keys) if (o[key] !== undefined) count++;
  // The JSON decoder turns these shapes into bytes or a bigint: keep that meaning.
  if (count === 1 && (typeof o['$b'] === 'string' || typeof o['$n'] === 'string')) return false;
  w.byte(Tag.object);
  w.varint(count);
  for (const key of keys) {
    const field = o[key];
    if (field === undefined) continue; // JSON drops it
    if (!w.string(key) || !writeValue(w, field)) return false;
  }
  return true;
}

function writeArray(w: Writer, items: readonly unknown[]): boolean {
  w.byte(Tag.array);
  w.varint(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) w.byte(Tag.null); // JSON writes an undefined slot as null
    else if (!writeValue(w, item)) return false;
  }
  return true;
}

/** The JSON form, for values outside the binary model. */
function encodeJson(value: unknown): Uint8Array {
  // JSON.stringify with a replacer calls back for every key; converting bytes and bigints in one
  // walk first and stringifying plain data gives the same text at a fraction of the cost.
  return utf8(JSON.stringify(toJsonable(value)));
}

/** What the replacer form produced: Uint8Array -> {"$b"}, bigint -> {"$n"}, the rest as JSON sees it. */
function toJsonable(v: unknown): unknown {
  if (typeof v === 'bigint') return { $n: v.toString() };
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return { $b: toBase64(v) };
  // Anything JSON.stringify would call toJSON on (or a class it would treat specially) keeps its own path.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
  if (Array.isArray(v)) return v.map(toJsonable);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) setOwn(out, key, toJsonable((v as Record<string, unknown>)[key]));
  return out;
}

// ---- decoding -----------------------------------------------------------------------------------

const decoder = new TextDecoder();

class Reader {
  at = 2;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  byte(): number {
    if (this.at >= this.buf.length) throw new Error('payload truncated');
    return this.buf[this.at++] as number;
  }

  varint(): number {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    throw new Error('payload varint too long');
  }

  float(): number {
    if (this.at + 8 > this.buf.length) throw new Error('payload truncated');
    const n = this.view.getFloat64(this.at, true);
    this.at += 8;
    return n;
  }

  span(): Uint8Array {
    const end = this.end();
    const out = this.buf.subarray(this.at, end);
    this.at = end;
    return out;
  }

  /** Where a length-prefixed field ends; moves past the prefix. */
  private end(): number {
    const length = this.varint();
    const end = this.at + length;
    if (end > this.buf.length) throw new Error('payload truncated');
    return end;
  }

  string(): string {
    const end = this.end();
    const start = this.at;
    const buf = this.buf;
    this.at = end;
    if (end - start > KEY_CACHE_MAX_BYTES) return decoder.decode(buf.subarray(start, end));
    // Short strings are mostly field names: hand back the same string object each time, so
    // V8 finds the property key without building and internalizing a new string per entry.
    let hash = end - start;
    for (let i = start; i < end; i++) {
      const c = buf[i] as number;
      if (c >= 0x80) return decoder.decode(buf.subarray(start, end));
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    const cached = keyCache.get(hash);
    if (cached !== undefined && sameAscii(cached, buf, start, end)) return cached;
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i] as number);
    if (keyCache.size < KEY_CACHE_ENTRIES) keyCache.set(hash, s);
    return s;
  }
}

const KEY_CACHE_MAX_BYTES = 24;
const KEY_CACHE_ENTRIES = 4096;
/** Short ASCII strings by hash; a hash collision only costs a miss (sameAscii checks). */
const keyCache = new Map<number, string>();

function sameAscii(s: string, buf: Uint8Array, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

function decodeBinary(bytes: Uint8Array): unknown {
  if (bytes[1] === PUT_VERSION) {
    const r = new Reader(bytes);
    const value = readPut(r);
    if (r.at !== bytes.length) throw new Error(`payload has ${bytes.length - r.at} trailing bytes`);
    return value;
  }
  if (bytes[1] !== BINARY_VERSION) throw new Error(`unknown payload format version ${String(bytes[1])}`);
  const r = new Reader(bytes);
  const value = readValue(r);
  if (r.at !== bytes.length) throw new Error(`payload has ${bytes.length - r.at} trailing bytes`);
  return value;
}

function readValue(r: Reader): unknown {
  const tag = r.byte();
  switch (tag) {
    case Tag.null:
      return null;
    case Tag.false:
      return false;
    case Tag.true:
      return true;
    case Tag.int: {
      const z = r.varint();
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    case Tag.float:
      return r.float();
    case Tag.string:
      return r.string();
    case Tag.bytes:
      // A copy: the request's bytes outlive the entry (index keys, watch events), and a view
      // would pin the whole entry buffer in memory. Small copies share a slab (see mvcc/slab.ts).
      return copyBytes(r.span());
    case Tag.bigint:
      return BigInt(r.string());
    case Tag.array:
      return readArray(r);
    case Tag.object:
      return readObject(r);
    default:
      throw new Error(`bad payload tag ${tag}`);
  }
}

function readArray(r: Reader): unknown[] {
  const count = r.varint();
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) out.push(readValue(r));
  return out;
}

function readObject(r: Reader): Record<string, unknown> {
  const count = r.varint();
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const key = r.string();
    const value = readValue(r);
    setOwn(out, key, value);
  }
  return out;
}

/** out[key] = value, except that "__proto__" becomes an own property (as JSON.parse makes it), not the prototype. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function fromJsonable(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromJsonable(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    if (typeof o['$b'] === 'string') return fromBase64(o['$b']);
    if (typeof o['$n'] === 'string') return BigInt(o['$n']);
  }
  for (const key of keys) o[key] = fromJsonable(o[key]);
  return o;
}

// ---- the put layout -----------------------------------------------------------------------------

/*
 * After 0x00 0x02: a presence byte (PutField bits), a flags byte (the three booleans), the key
 * (varint length, bytes), then when present: the value (varint length, bytes), the lease (decimal
 * ASCII, as Tag.bigint; absent when PutField.zeroLease says 0n), the header's user name (string)
 * and auth revision (varint). Only requests whose fields appear in the order below (the order the
 * gRPC adapter and kv.propose build them in) take this form, so decoding in that order gives back
 * the same object, key order included. Anything else (other fields, other types, a revision
 * outside 0..2^31) takes the tagged form.
 */
const PutField = {
  value: 1,
  lease: 2,
  prevKv: 4,
  ignoreValue: 8,
  ignoreLease: 16,
  header: 32,
  zeroLease: 64,
} as const;

const PUT_FIELDS = ['key', 'value', 'lease', 'prevKv', 'ignoreValue', 'ignoreLease'] as const;
const BOOLEAN_FIELDS = ['prevKv', 'ignoreValue', 'ignoreLease'] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** Keys whose value is defined, in order: what the tagged form would write. */
function definedKeys(o: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(o)) if (o[k] !== undefined) out.push(k);
  return out;
}

/** True when `keys` is `order` with some entries left out. */
function inOrder(keys: readonly string[], order: readonly string[]): boolean {
  let at = 0;
  for (const k of keys) {
    while (at < order.length && order[at] !== k) at++;
    if (at === order.length) return false;
    at++;
  }
  return true;
}

/** Writes `{ put, header? }` in the put layout; false (and garbage in w) for anything else. */
function writePut(w: Writer, value: unknown): boolean {
  // Most other requests leave at the first test, before any key list is built.
  if (!isPlainObject(value) || value['put'] === undefined) return false;
  const top = definedKeys(value);
  if (top[0] !== 'put' || top.length > 2 || (top.length === 2 && top[1] !== 'header')) return false;
  const put = value['put'];
  if (!isPlainObject(put)) return false;
  const fields = definedKeys(put);
  if (fields[0] !== 'key' || !inOrder(fields, PUT_FIELDS)) return false;
  const key = put['key'];
  const val = put['value'];
  const lease = put['lease'];
  if (!(key instanceof Uint8Array) || (val !== undefined && !(val instanceof Uint8Array))) return false;
  if (lease !== undefined && typeof lease !== 'bigint') return false;
  let presence = 0;
  let flags = 0;
  if (val !== undefined) presence |= PutField.value;
  if (lease !== undefined) presence |= lease === 0n ? PutField.lease | PutField.zeroLease : PutField.lease;
  for (let i = 0; i < BOOLEAN_FIELDS.length; i++) {
    const b = put[BOOLEAN_FIELDS[i] as string];
    if (b === undefined) continue;
    if (typeof b !== 'boolean') return false;
    presence |= PutField.prevKv << i;
    if (b) flags |= 1 << i;
  }
  const header = value['header'];
  let username = '';
  let authRevision = 0;
  if (header !== undefined) {
    if (!isPlainObject(header)) return false;
    const hk = definedKeys(header);
    if (hk.length !== 2 || hk[0] !== 'username' || hk[1] !== 'authRevision') return false;
    const u = header['username'];
    const rev = header['authRevision'];
    if (typeof u !== 'string' || typeof rev !== 'number' || !Number.isInteger(rev) || rev < 0 || rev >= 0x8000_0000 || Object.is(rev, -0)) return false;
    username = u;
    authRevision = rev;
    presence |= PutField.header;
  }
  w.byte(presence);
  w.byte(flags);
  w.raw(key);
  if (val !== undefined) w.raw(val);
  if (lease !== undefined && lease !== 0n && !w.string(lease.toString())) return false;
  if (header !== undefined) {
    if (!w.string(username)) return false;
    w.varint(authRevision);
  }
  return true;
}

function readPut(r: Reader): unknown {
  const presence = r.byte();
  const flags = r.byte();
  if (presence >= 128 || flags >= 8) throw new Error('bad put payload flags');
  const put: Record<string, unknown> = { key: copyBytes(r.span()) };
  if (presence & PutField.value) put['value'] = copyBytes(r.span());
  if (presence & PutField.lease) put['lease'] = presence & PutField.zeroLease ? 0n : BigInt(r.string());
  if (presence & PutField.prevKv) put['prevKv'] = (flags & 1) !== 0;
  if (presence & PutField.ignoreValue) put['ignoreValue'] = (flags & 2) !== 0;
  if (presence & PutField.ignoreLease) put['ignoreLease'] = (flags & 4) !== 0;
  if (!(presence & PutField.header)) return { put };
  const username = r.string();
  return { put, header: { username, authRevision: r.varint() } };
}
