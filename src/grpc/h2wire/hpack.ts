/**
 * HPACK (RFC 7541): header compression for the HTTP/2 transport. Pure: no I/O, no clocks.
 *
 * Strings are octet strings carried in JS strings as latin1 (one char per octet): the decoder
 * returns every name and value that way, and the encoder writes a string whose chars are all
 * <= 0xff as those octets, so decode(encode(x)) gives back x. A string with a char above 0xff
 * cannot be latin1, so the encoder writes it as UTF-8 (the decoder then returns its UTF-8
 * octets as latin1 chars).
 *
 * Speed: an indexed field (nearly every field of a gRPC request after the first on a connection)
 * is decoded without allocating: the table's own strings are returned. The encoder finds exact
 * and name matches through maps, never by scanning the table.
 */

import { STATIC_LOOKUP, STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './hpack-static.js';
import { HuffmanError, huffmanDecode } from './huffman.js';

/** Any malformed header block: the connection answers COMPRESSION_ERROR. */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

/** RFC 7541 section 4.1: an entry's size is its name and value octets plus this overhead. */
export const ENTRY_OVERHEAD_BYTES = 32;
/** The SETTINGS_HEADER_TABLE_SIZE every HTTP/2 endpoint starts with. */
export const DEFAULT_TABLE_BYTES = 4096;
/**
 * The encoder never uses a larger table than this, whatever the peer allows: our response
 * headers are a handful of fields, and a peer advertising gigabytes must not make us keep them.
 */
export const ENCODER_TABLE_BYTES_MAX = 65536;

/** Integers above this are refused: no length, index or table size legitimately comes close. */
const INTEGER_MAX = 2 ** 31 - 1;
/** 5 continuation bytes carry 35 bits; one more allows a redundant zero-padding byte. */
const INTEGER_CONTINUATION_BYTES_MAX = 6;
const RING_CAPACITY_INITIAL = 16;

/**
 * The dynamic table: a ring of entries, newest at newestPos. Index 1 is the newest entry.
 * Every inserted entry gets an absolute id (insertCount before the insert), which lets the
 * encoder's maps name entries without renumbering them on each insert.
 */
class DynamicTable {
  private names: string[] = new Array<string>(RING_CAPACITY_INITIAL).fill('');
  private values: string[] = new Array<string>(RING_CAPACITY_INITIAL).fill('');
  private entryBytes: number[] = new Array<number>(RING_CAPACITY_INITIAL).fill(0);
  private newestPos = -1;
  count = 0;
  insertCount = 0;
  sizeBytes = 0;
  /** Called for every evicted entry with its absolute id. */
  onEvict: ((name: string, value: string, id: number) => void) | null = null;

  constructor(public maxBytes: number) {}

  private pos(index: number): number {
    const pos = this.newestPos - index + 1;
    return pos >= 0 ? pos : pos + this.names.length;
  }

  /** index: 1 = newest; the caller checks 1 <= index <= count. */
  nameAt(index: number): string {
    return this.names[this.pos(index)]!;
  }

  valueAt(index: number): string {
    return this.values[this.pos(index)]!;
  }

  setMaxBytes(maxBytes: number): void {
    this.maxBytes = maxBytes;
    while (this.sizeBytes > maxBytes) this.evictOldest();
  }

  /** Adds an entry of entryBytes (octets + overhead); one larger than the table empties it. */
  add(name: string, value: string, entryBytes: number): void {
    while (this.count > 0 && this.sizeBytes + entryBytes > this.maxBytes) this.evictOldest();
    if (entryBytes > this.maxBytes) return;
    if (this.count === this.names.length) this.grow();
    const pos = this.newestPos + 1 === this.names.length ? 0 : this.newestPos + 1;
    this.names[pos] = name;
    this.values[pos] = value;
    this.entryBytes[pos] = entryBytes;
    this.newestPos = pos;
    this.count++;
    this.insertCount++;
    this.sizeBytes += entryBytes;
  }

  private evictOldest(): void {
    const pos = this.pos(this.count);
    const name = this.names[pos]!;
    const value = this.values[pos]!;
    this.sizeBytes -= this.entryBytes[pos]!;
    this.names[pos] = '';
    this.values[pos] = '';
    this.count--;
    if (this.onEvict !== null) this.onEvict(name, value, this.insertCount - this.count - 1);
  }

  /** Doubles the ring, laying entries out oldest first from slot 0. */
  private grow(): void {
    const capacity = this.names.length * 2;
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    const entryBytes = new Array<number>(capacity).fill(0);
    for (let index = this.count, to = 0; index >= 1; index--, to++) {
      const from = this.pos(index);
      names[to] = this.names[from]!;
      values[to] = this.values[from]!;
      entryBytes[to] = this.entryBytes[from]!;
    }
    this.names = names;
    this.values = values;
    this.entryBytes = entryBytes;
    this.newestPos = this.count - 1;
  }
}

function checkTableBytes(bytes: number, what: string): void {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > 0xffffffff) {
    throw new RangeError(`hpack: ${what} must be an integer in [0, 2^32), got ${bytes}`);
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

export class HpackDecoder {
  private readonly table: DynamicTable;
  private readonly maxTableBytes: number;
  private bytes: Buffer = EMPTY_BUFFER;
  private pos = 0;

  /** maxTableBytes: the SETTINGS_HEADER_TABLE_SIZE we advertise (default 4096). */
  constructor(maxTableBytes: number = DEFAULT_TABLE_BYTES) {
    checkTableBytes(maxTableBytes, 'maxTableBytes');
    this.maxTableBytes = maxTableBytes;
    this.table = new DynamicTable(maxTableBytes);
  }

  /** Current dynamic table state, for tests and diagnostics: entries newest first. */
  tableEntries(): [name: string, value: string][] {
    const entries: [string, string][] = [];
    for (let i = 1; i <= this.table.count; i++) entries.push([this.table.nameAt(i), this.table.valueAt(i)]);
    return entries;
  }

  /** Size of the dynamic table in RFC 7541 octets (entries + 32 each), and its current limit. */
  tableSizeBytes(): number {
    return this.table.sizeBytes;
  }

  tableMaxBytes(): number {
    return this.table.maxBytes;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined, padding and
   * priority removed). Returns [n0, v0, n1, v1, ...] as latin1 strings. Throws HpackError.
   */
  decode(block: Uint8Array): string[] {
    this.bytes = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.pos = 0;
    const out: string[] = [];
    this.decodeFields(out);
    // Not in a finally: after an error the connection is gone, and try/finally costs on this path.
    this.bytes = EMPTY_BUFFER;
    return out;
  }

  private decodeFields(out: string[]): void {
    const bytes = this.bytes;
    const end = bytes.length;
    let sawField = false;
    while (this.pos < end) {
      const first = bytes[this.pos]!;
      if (first >= 0x80) {
        if (first < 0xff) {
          // Indexed with the index in the first byte: the common case after a connection's first request.
          this.pos++;
          this.pushIndexed(out, first & 0x7f);
        } else {
          this.pushIndexed(out, this.readInteger(7));
        }
      } else if (first >= 0x40) {
        const name = this.readName(6);
        const value = this.readString();
        this.table.add(name, value, name.length + value.length + ENTRY_OVERHEAD_BYTES);
        out.push(name, value);
      } else if (first >= 0x20) {
        if (sawField) throw new HpackError('hpack: dynamic table size update after a header field');
        const sizeBytes = this.readInteger(5);
        if (sizeBytes > this.maxTableBytes) {
          throw new HpackError(`hpack: table size update to ${sizeBytes} above the limit ${this.maxTableBytes}`);
        }
        this.table.setMaxBytes(sizeBytes);
        continue;
      } else {
        // 0000xxxx without indexing, 0001xxxx never indexed: decoded alike.
        const name = this.readName(4);
        out.push(name, this.readString());
      }
      sawField = true;
    }
  }

  private pushIndexed(out: string[], index: number): void {
    if (index === 0) throw new HpackError('hpack: index 0');
    if (index <= STATIC_TABLE_LENGTH) {
      out.push(STATIC_NAMES[index]!, STATIC_VALUES[index]!);
      return;
    }
    const dynamicIndex = index - STATIC_TABLE_LENGTH;
    if (dynamicIndex > this.table.count) throw new HpackError(`hpack: index ${index} past the table`);
    out.push(this.table.nameAt(dynamicIndex), this.table.valueAt(dynamicIndex));
  }

  /** A literal's name: an index in the prefix, or 0 and a string literal. */
  private readName(prefixBits: number): string {
    const index = this.readInteger(prefixBits);
    if (index === 0) return this.readString();
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index]!;
    const dynamicIndex = index - STATIC_TABLE_LENGTH;
    if (dynamicIndex > this.table.count) throw new HpackError(`hpack: name index ${index} past the table`);
    return this.table.nameAt(dynamicIndex);
  }

  /** RFC 7541 section 5.1; the caller has checked that the first byte exists. */
  private readInteger(prefixBits: number): number {
    const bytes = this.bytes;
    const prefixMax = (1 << prefixBits) - 1;
    let value = bytes[this.pos++]! & prefixMax;
    if (value < prefixMax) return value;
    let multiplier = 1;
    for (let n = 0; n < INTEGER_CONTINUATION_BYTES_MAX; n++) {
      if (this.pos >= bytes.length) throw new HpackError('hpack: truncated integer');
      const b = bytes[this.pos++]!;
      value += (b & 0x7f) * multiplier;
      if (value > INTEGER_MAX) throw new HpackError('hpack: integer too large');
      if (b < 0x80) return value;
      multiplier *= 128;
    }
    throw new HpackError('hpack: integer has too many continuation bytes');
  }

  private readString(): string {
    const bytes = this.bytes;
    if (this.pos >= bytes.length) throw new HpackError('hpack: truncated block: string expected');
    const huffman = bytes[this.pos]! >= 0x80;
    const lengthBytes = this.readInteger(7);
    const start = this.pos;
    const end = start + lengthBytes;
    if (end > bytes.length) throw new HpackError('hpack: string runs past the end of the block');
    this.pos = end;
    if (lengthBytes === 0) return '';
    if (!huffman) return bytes.toString('latin1', start, end);
    try {
      return huffmanDecode(bytes, start, end);
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(`hpack: ${err.message}`);
      throw err;
    }
  }
}

/** The encoder's index of its dynamic table: name -> newest id with that name, value -> id. */
interface NameIds {
  newestId: number;
  readonly valueIds: Map<string, number>;
}

/** Entries bigger than this share of the table are sent without indexing, not flushing it. */
const INDEX_ENTRY_SHARE_MAX = 0.75;

export class HpackEncoder {
  private readonly table: DynamicTable;
  private readonly ids = new Map<string, NameIds>();
  private peerMaxTableBytes = DEFAULT_TABLE_BYTES;
  private sizeUpdatePending = false;
  private sizeUpdateMinBytes = 0;
  private out: Buffer = Buffer.allocUnsafe(512);
  private pos = 0;
  /** Set by measure(): the octet length of the last measured string and how to write it. */
  private measuredBytes = 0;
  private measuredLatin1 = true;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE (default 4096); call again when its SETTINGS change. */
  constructor(peerMaxTableBytes: number = DEFAULT_TABLE_BYTES) {
    // Both ends start from the protocol default; a different peer setting is a change from it.
    this.table = new DynamicTable(DEFAULT_TABLE_BYTES);
    this.table.onEvict = (name, value, id) => this.forget(name, value, id);
    if (peerMaxTableBytes !== DEFAULT_TABLE_BYTES) this.setPeerMaxTableBytes(peerMaxTableBytes);
  }

  /** The encoder's dynamic table, newest first: for tests, which check it mirrors the decoder's. */
  tableEntries(): [name: string, value: string][] {
    const entries: [string, string][] = [];
    for (let i = 1; i <= this.table.count; i++) entries.push([this.table.nameAt(i), this.table.valueAt(i)]);
    return entries;
  }

  /** Emits a dynamic table size update at the start of the next block when needed. */
  setPeerMaxTableBytes(bytes: number): void {
    checkTableBytes(bytes, 'peer header table size');
    const usedBytes = Math.min(bytes, ENCODER_TABLE_BYTES_MAX);
    // RFC 7541 section 4.2: if the limit dipped and rose again between blocks, the smallest
    // value must be signalled first, so track the minimum since the last block.
    this.sizeUpdateMinBytes = this.sizeUpdatePending ? Math.min(this.sizeUpdateMinBytes, usedBytes) : usedBytes;
    this.sizeUpdatePending = true;
    this.peerMaxTableBytes = usedBytes;
  }

  /**
   * Encodes one header block from [n0, v0, n1, v1, ...]. Fields whose name passes `indexable`
   * (default: every field) may be added to the dynamic table; others are literals without
   * indexing. Values are never Huffman-coded.
   */
  encode(fields: readonly string[], indexable?: (name: string) => boolean): Buffer {
    if (fields.length % 2 !== 0) throw new RangeError('hpack: fields must be [name, value] pairs');
    this.pos = 0;
    if (this.sizeUpdatePending) this.writeSizeUpdates();
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      this.encodeField(name, fields[i + 1]!, indexable === undefined || indexable(name));
    }
    const block = Buffer.allocUnsafe(this.pos);
    this.out.copy(block, 0, 0, this.pos);
    return block;
  }

  private writeSizeUpdates(): void {
    this.sizeUpdatePending = false;
    if (this.sizeUpdateMinBytes < this.table.maxBytes) {
      this.writeInteger(0x20, 5, this.sizeUpdateMinBytes);
      this.table.setMaxBytes(this.sizeUpdateMinBytes);
    }
    if (this.peerMaxTableBytes !== this.table.maxBytes) {
      this.writeInteger(0x20, 5, this.peerMaxTableBytes);
      this.table.setMaxBytes(this.peerMaxTableBytes);
    }
  }

  private encodeField(name: string, value: string, indexable: boolean): void {
    const staticIds = STATIC_LOOKUP.get(name);
    if (staticIds !== undefined) {
      const index = staticIds.valueIndex.get(value);
      if (index !== undefined) return this.writeInteger(0x80, 7, index);
    }
    const dynamicIds = this.ids.get(name);
    if (dynamicIds !== undefined) {
      const id = dynamicIds.valueIds.get(value);
      if (id !== undefined) return this.writeInteger(0x80, 7, this.indexOfId(id));
    }
    const nameIndex =
      staticIds !== undefined ? staticIds.nameIndex : dynamicIds !== undefined ? this.indexOfId(dynamicIds.newestId) : 0;
    this.measure(name);
    const nameBytes = this.measuredBytes;
    const nameLatin1 = this.measuredLatin1;
    this.measure(value);
    const entryBytes = nameBytes + this.measuredBytes + ENTRY_OVERHEAD_BYTES;
    const indexed = indexable && entryBytes <= this.table.maxBytes * INDEX_ENTRY_SHARE_MAX;
    this.ensure(nameBytes + this.measuredBytes + 18); // three integers of at most 6 bytes
    if (indexed) this.writeInteger(0x40, 6, nameIndex);
    else this.writeInteger(0x00, 4, nameIndex);
    if (nameIndex === 0) this.writeString(name, nameBytes, nameLatin1);
    this.writeString(value, this.measuredBytes, this.measuredLatin1);
    if (indexed) this.remember(name, value, entryBytes);
  }

  private indexOfId(id: number): number {
    return STATIC_TABLE_LENGTH + this.table.insertCount - id;
  }

  private remember(name: string, value: string, entryBytes: number): void {
    // Evictions run inside add() and may drop this name's map entry, so look it up after.
    this.table.add(name, value, entryBytes);
    const id = this.table.insertCount - 1;
    let nameIds = this.ids.get(name);
    if (nameIds === undefined) {
      nameIds = { newestId: id, valueIds: new Map() };
      this.ids.set(name, nameIds);
    }
    nameIds.newestId = id;
    nameIds.valueIds.set(value, id);
  }

  private forget(name: string, value: string, id: number): void {
    const nameIds = this.ids.get(name);
    if (nameIds === undefined) return;
    if (nameIds.valueIds.get(value) === id) nameIds.valueIds.delete(value);
    // Eviction goes oldest first: when the newest entry of a name goes, none of that name is left.
    if (nameIds.newestId === id) this.ids.delete(name);
  }

  /** Octet length of s as it will be written (latin1 when possible, else UTF-8). */
  private measure(s: string): void {
    const utf8Bytes = Buffer.byteLength(s, 'utf8');
    if (utf8Bytes === s.length) {
      this.measuredBytes = utf8Bytes;
      this.measuredLatin1 = true;
      return;
    }
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0xff) {
        this.measuredBytes = utf8Bytes;
        this.measuredLatin1 = false;
        return;
      }
    }
    this.measuredBytes = s.length;
    this.measuredLatin1 = true;
  }

  private ensure(extraBytes: number): void {
    if (this.pos + extraBytes <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + extraBytes));
    this.out.copy(grown, 0, 0, this.pos);
    this.out = grown;
  }

  /** RFC 7541 section 5.1, with the representation's pattern bits in `pattern`. */
  private writeInteger(pattern: number, prefixBits: number, value: number): void {
    this.ensure(6);
    const out = this.out;
    const prefixMax = (1 << prefixBits) - 1;
    if (value < prefixMax) {
      out[this.pos++] = pattern | value;
      return;
    }
    out[this.pos++] = pattern | prefixMax;
    let rest = value - prefixMax;
    while (rest >= 0x80) {
      out[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    out[this.pos++] = rest;
  }

  private writeString(s: string, octets: number, latin1: boolean): void {
    this.writeInteger(0x00, 7, octets);
    const written = this.out.write(s, this.pos, latin1 ? 'latin1' : 'utf8');
    if (written !== octets) throw new Error('hpack: string length changed while writing');
    this.pos += written;
  }
}
