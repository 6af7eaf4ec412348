/**
 * Protocol buffers wire format: the runtime half of the codec. The generated code in
 * ./generated/ calls these primitives; nothing here knows about etcd's messages.
 *
 * Representation choices (documented for every user of the generated types):
 * - int64 / uint64 -> bigint (lease and member ids use all 64 bits, revisions may pass 2^53);
 * - int32 / uint32 / enums -> number; bool -> boolean; string -> string;
 * - bytes -> plain Uint8Array (never a Buffer): a private copy up to COPY_BYTES_MAX bytes, a
 *   zero-copy view of the input beyond that. Do not mutate a buffer after decoding it; copy a
 *   large field (`.slice()`) before keeping it long after the request.
 *
 * Decoding is strict: truncated input, a length that runs past its enclosing message, field
 * number 0, group or reserved wire types, a known field with the wrong wire type, an over-long
 * varint, an out-of-range int64, invalid UTF-8 in a string field, or nesting deeper than
 * MAX_DEPTH all throw ProtoDecodeError. Nothing else escapes a decoder.
 */

export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
}

/** Messages nested deeper than this are refused rather than risking the stack. */
export const MAX_DEPTH = 100;

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const MAX_UINT64 = (1n << 64n) - 1n;
const TWO_POW_32 = 4294967296;

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * bytes fields up to this length are copied: V8 keeps typed arrays this small on its own heap,
 * so the copy is cheap and a retained key never pins a large request buffer. Longer fields
 * (values, snapshot blobs) are views: allocating an off-heap array per field costs several
 * times more than decoding the rest of the message.
 */
export const COPY_BYTES_MAX = 64;

/** One-byte varints (versions, small revisions) decode without allocating a BigInt. */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 0x80 }, (_, i) => BigInt(i));

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one message; positions are absolute offsets into `buf`. */
export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  fail(what: string): never {
    throw new ProtoDecodeError(`malformed protobuf at byte ${this.pos}: ${what}`);
  }

  /** A varint that must fit 32 bits unsigned (tags, lengths); higher bits are an error. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let b = buf[pos++];
    if (b === undefined) this.fail('truncated varint');
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let value = b & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      b = buf[pos++];
      if (b === undefined) this.fail('truncated varint');
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = pos;
        if (value >= TWO_POW_32) this.fail('varint exceeds 32 bits');
        return value;
      }
    }
    this.fail('varint exceeds 32 bits');
  }

  /** High half of the last varint64(); a field rather than a returned pair, to avoid allocating. */
  private hi = 0;

  /** A full 64-bit varint: returns the low 32 bits (unsigned), leaves the high 32 bits in `hi`. */
  private varint64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let pos = this.pos;
    for (let i = 0; i < 10; i++) {
      const b = buf[pos++];
      if (b === undefined) this.fail('truncated varint');
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        if (i === 9 && b > 1) this.fail('varint exceeds 64 bits');
        this.pos = pos;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** Values below 2^21 (three varint bytes: versions, most revisions) skip the 64-bit path; -1 otherwise. */
  private smallVarint(): number {
    const buf = this.buf;
    const pos = this.pos;
    const b0 = buf[pos] ?? 0x80;
    if (b0 < 0x80) {
      this.pos = pos + 1;
      return b0;
    }
    const b1 = buf[pos + 1] ?? 0x80;
    if (b1 < 0x80) {
      this.pos = pos + 2;
      return (b0 & 0x7f) | (b1 << 7);
    }
    const b2 = buf[pos + 2] ?? 0x80;
    if (b2 < 0x80) {
      this.pos = pos + 3;
      return (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
    }
    return -1;
  }

  uint64(): bigint {
    const small = this.smallVarint();
    if (small >= 0) return small < 0x80 ? (SMALL_BIGINTS[small] as bigint) : BigInt(small);
    const lo = this.varint64();
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    if (hi < 0x200000) return BigInt(hi * TWO_POW_32 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  int64(): bigint {
    const small = this.smallVarint();
    if (small >= 0) return small < 0x80 ? (SMALL_BIGINTS[small] as bigint) : BigInt(small);
    const lo = this.varint64();
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    if (hi < 0x200000) return BigInt(hi * TWO_POW_32 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** int32 and enums: negative values arrive sign-extended to 10 bytes; keep the low 32 bits. */
  int32(): number {
    const b = this.buf[this.pos];
    if (b !== undefined && b < 0x80) {
      this.pos++;
      return b;
    }
    return this.varint64() | 0;
  }

  uint32Field(): number {
    const b = this.buf[this.pos];
    if (b !== undefined && b < 0x80) {
      this.pos++;
      return b;
    }
    return this.varint64();
  }

  bool(): boolean {
    const b = this.buf[this.pos];
    if (b === 0 || b === 1) {
      this.pos++;
      return b === 1;
    }
    const lo = this.varint64();
    return lo !== 0 || this.hi !== 0;
  }

  /** Reads a length prefix and returns the end offset, checked against the enclosing end. */
  lengthEnd(end: number): number {
    const len = this.uint32();
    const stop = this.pos + len;
    if (stop > end) this.fail(`length ${len} runs past the end of its message`);
    return stop;
  }

  bytes(end: number): Uint8Array {
    const stop = this.lengthEnd(end);
    const start = this.pos;
    this.pos = stop;
    const len = stop - start;
    if (len === 0) return EMPTY_BYTES;
    const buf = this.buf;
    if (len > COPY_BYTES_MAX) return new Uint8Array(buf.buffer, buf.byteOffset + start, len);
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = buf[start + i] as number;
    return out;
  }

  string(end: number): string {
    const stop = this.lengthEnd(end);
    const buf = this.buf;
    const start = this.pos;
    this.pos = stop;
    if (stop - start <= 64) {
      // Short ASCII strings dominate (names, URLs); building them directly avoids TextDecoder.
      let s = '';
      let i = start;
      for (; i < stop; i++) {
        const c = buf[i] as number;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === stop) return s;
    }
    try {
      return strictUtf8.decode(buf.subarray(start, stop));
    } catch {
      this.pos = start;
      this.fail('string field is not valid UTF-8');
    }
  }

  /** Skips a field this message does not know; refuses a known field with the wrong wire type. */
  skip(tag: number, end: number, known: ReadonlySet<number>): void {
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) this.fail('field number 0');
    if (known.has(field)) this.fail(`field ${field} has unexpected wire type ${wire}`);
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        this.advance(8, end);
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd(end);
        return;
      case WIRE_FIXED32:
        this.advance(4, end);
        return;
      default:
        this.fail(`unsupported wire type ${wire} for field ${field}`);
    }
  }

  private advance(count: number, end: number): void {
    if (this.pos + count > end) this.fail('truncated fixed-width field');
    this.pos += count;
  }

  /** Called when a message's fields are exhausted: a varint may have read past `end`. */
  checkEnd(end: number): void {
    if (this.pos !== end) this.fail('field runs past the end of its message');
  }

  checkDepth(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`messages nested deeper than ${MAX_DEPTH}`);
  }
}

/**
 * Writes one message into a growing buffer. Length-delimited children reserve one byte for
 * their length and shift themselves right in the rare case the length needs more, so a message
 * is encoded in a single pass without a separate sizing walk.
 */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
    // A huge message (a snapshot chunk) should not pin its buffer forever.
    if (this.buf.length > 1 << 22) this.buf = Buffer.allocUnsafe(4096);
  }

  /** A copy of what was written, exactly sized. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private grow(needBytes: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + needBytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  ensure(needBytes: number): void {
    if (this.pos + needBytes > this.buf.length) this.grow(needBytes);
  }

  /** Unsigned varint of a non-negative integer below 2^53 (tags, lengths, small values). */
  varint(value: number): void {
    if (this.pos + 10 > this.buf.length) this.grow(10);
    const buf = this.buf;
    let pos = this.pos;
    let v = value;
    if (v <= 0x7fffffff) {
      // Bit operations are exact below 2^31 and much cheaper than division.
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v > 0x7f) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** int32 and enums: negative values are sign-extended to 64 bits, as protobuf requires. */
  int32(value: number): void {
    if (value >= 0) this.varint(value);
    else this.varint64(value >>> 0, 0xffffffff);
  }

  uint32(value: number): void {
    this.varint(value >>> 0);
  }

  private varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo >= 0x80) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  int64(value: bigint): void {
    // Number() rounds anything at or beyond 2^53 to an unsafe integer, so this test is exact.
    const n = Number(value);
    if (n >= 0 && Number.isSafeInteger(n)) {
      this.varint(n);
      return;
    }
    if (value > MAX_INT64 || value < MIN_INT64) {
      throw new RangeError(`int64 field value out of range: ${value}`);
    }
    const u = BigInt.asUintN(64, value);
    this.varint64(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  uint64(value: bigint): void {
    const n = Number(value);
    if (n >= 0 && Number.isSafeInteger(n)) {
      this.varint(n);
      return;
    }
    if (value > MAX_UINT64 || value < 0n) {
      throw new RangeError(`uint64 field value out of range: ${value}`);
    }
    this.varint64(Number(value & 0xffffffffn), Number(value >> 32n));
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  string(value: string): void {
    const at = this.fork();
    this.ensure(value.length * 3);
    this.pos += this.buf.write(value, this.pos, 'utf8');
    this.ldelim(at);
  }

  /** Starts a length-delimited child; returns the offset of its reserved length byte. */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  ldelim(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    let lenBytes = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) lenBytes++;
    this.ensure(lenBytes - 1);
    this.buf.copyWithin(at + lenBytes, at + 1, this.pos);
    this.pos += lenBytes - 1;
    let v = len;
    let p = at;
    while (v >= 0x80) {
      this.buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[p] = v;
  }
}

/** The writer every generated encoder shares: encoding is synchronous and never re-entered. */
export const sharedWriter = new Writer();

/** How many bytes `write` would encode `message` into, without copying them out of the shared writer. */
export function encodedLength<M>(write: (w: Writer, m: M) => void, message: M): number {
  const w = sharedWriter;
  w.reset();
  write(w, message);
  return w.pos;
}
