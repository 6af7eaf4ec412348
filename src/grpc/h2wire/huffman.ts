/**
 * The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical: codes are handed out in
 * order of (length, symbol), so the 257 code lengths below determine every code. From them we
 * build, once at module load:
 * - the code and length of every symbol (for the encoder and for tests);
 * - a byte-at-a-time decoding automaton: 256 states (the internal nodes of the code tree) x 256
 *   input bytes. One lookup consumes 8 input bits and emits 0, 1 or 2 symbols (the shortest code
 *   is 5 bits, so at most two codes can end inside one byte), which is what makes decoding cheap
 *   compared with a bit-by-bit tree walk.
 */

/** Code length of symbol i (0..256, 256 = EOS) is CODE_LENGTHS.charCodeAt(i) - 60 (5..30 bits). */
const CODE_LENGTHS =
  'ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWVZ';

export const EOS_SYMBOL = 256;
const SYMBOL_COUNT = 257;

/** Code length in bits of each symbol. */
export const HUFFMAN_LENGTHS: Uint8Array = new Uint8Array(SYMBOL_COUNT);
/** Code of each symbol, right-aligned (its low HUFFMAN_LENGTHS[i] bits). */
export const HUFFMAN_CODES: Uint32Array = new Uint32Array(SYMBOL_COUNT);

function buildCanonicalCodes(): void {
  if (CODE_LENGTHS.length !== SYMBOL_COUNT) throw new Error('huffman: bad length table');
  const order: number[] = [];
  for (let sym = 0; sym < SYMBOL_COUNT; sym++) {
    HUFFMAN_LENGTHS[sym] = CODE_LENGTHS.charCodeAt(sym) - 60;
    order.push(sym);
  }
  order.sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  let code = 0;
  let prevLengthBits = HUFFMAN_LENGTHS[order[0]!]!;
  for (const sym of order) {
    const lengthBits = HUFFMAN_LENGTHS[sym]!;
    code *= 2 ** (lengthBits - prevLengthBits);
    prevLengthBits = lengthBits;
    HUFFMAN_CODES[sym] = code;
    code++;
  }
  // A complete prefix code ends exactly at 2^maxLength: anything else means a typo in the table.
  if (code !== 2 ** prevLengthBits) throw new Error('huffman: code is not complete');
}
buildCanonicalCodes();

// ---- decoding automaton ----

/** Code tree: child[node * 2 + bit] is an internal node id (>= 0) or ~symbol for a leaf (< 0). */
const NODE_COUNT = SYMBOL_COUNT - 1; // a full binary tree with 257 leaves has 256 internal nodes

function buildTree(): Int32Array {
  const child = new Int32Array(NODE_COUNT * 2).fill(0x7fffffff);
  let nextNode = 1;
  for (let sym = 0; sym < SYMBOL_COUNT; sym++) {
    const lengthBits = HUFFMAN_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let i = lengthBits - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = node * 2 + bit;
      if (i === 0) {
        child[slot] = ~sym;
      } else {
        if (child[slot] === 0x7fffffff) child[slot] = nextNode++;
        node = child[slot]!;
      }
    }
  }
  if (nextNode !== NODE_COUNT) throw new Error('huffman: tree has the wrong shape');
  return child;
}

/** Entry layout of DECODE_TABLE: the next state and what one input byte emits. */
const ENTRY_STATE_MASK = 0xff;
const ENTRY_SYM1_SHIFT = 8;
const ENTRY_SYM2_SHIFT = 16;
const ENTRY_COUNT_SHIFT = 24;
const ENTRY_FAIL = 1 << 27;

/** DECODE_TABLE[state << 8 | byte]. */
const DECODE_TABLE = new Uint32Array(NODE_COUNT * 256);
/**
 * ACCEPT_STATE[state] = 1 when a string may end in this state: the bits since the last symbol
 * are a prefix of EOS (all ones) no longer than 7 bits (RFC 7541 section 5.2).
 */
const ACCEPT_STATE = new Uint8Array(NODE_COUNT);

function buildDecodeTable(): void {
  const child = buildTree();
  let onesNode = 0;
  ACCEPT_STATE[0] = 1;
  for (let depth = 1; depth <= 7; depth++) {
    onesNode = child[onesNode * 2 + 1]!;
    ACCEPT_STATE[onesNode] = 1;
  }
  for (let state = 0; state < NODE_COUNT; state++) {
    for (let byte = 0; byte < 256; byte++) {
      DECODE_TABLE[(state << 8) | byte] = walkByte(child, state, byte);
    }
  }
}

function walkByte(child: Int32Array, state: number, byte: number): number {
  let node = state;
  let count = 0;
  let entry = 0;
  for (let i = 7; i >= 0; i--) {
    const next = child[node * 2 + ((byte >> i) & 1)]!;
    if (next >= 0) {
      node = next;
      continue;
    }
    const sym = ~next;
    if (sym === EOS_SYMBOL) return ENTRY_FAIL;
    if (count >= 2) throw new Error('huffman: more than two symbols in one byte');
    entry |= sym << (count === 0 ? ENTRY_SYM1_SHIFT : ENTRY_SYM2_SHIFT);
    count++;
    node = 0;
  }
  return (entry | (count << ENTRY_COUNT_SHIFT) | node) >>> 0;
}
buildDecodeTable();

/** What huffmanDecode throws; the HPACK decoder turns it into its own error. */
export class HuffmanError extends Error {
  override readonly name = 'HuffmanError';
}

let scratch = Buffer.allocUnsafe(256);

/**
 * Decodes src[start, end) and returns the octets as a latin1 string (one char per octet).
 * Throws HuffmanError on an EOS symbol inside the string or padding that is longer than 7 bits
 * or not all ones.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  // Every symbol takes at least 5 bits, so 8 input bytes give at most 12 (rounded up) symbols.
  const outMax = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < outMax) scratch = Buffer.allocUnsafe(Math.max(outMax, scratch.length * 2));
  const out = scratch;
  let outLength = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const entry = DECODE_TABLE[(state << 8) | src[i]!]!;
    if ((entry & ENTRY_FAIL) !== 0) throw new HuffmanError('huffman: EOS symbol inside a string');
    const count = entry >>> ENTRY_COUNT_SHIFT;
    if (count !== 0) {
      out[outLength++] = (entry >>> ENTRY_SYM1_SHIFT) & 0xff;
      if (count === 2) out[outLength++] = (entry >>> ENTRY_SYM2_SHIFT) & 0xff;
    }
    state = entry & ENTRY_STATE_MASK;
  }
  if (ACCEPT_STATE[state] !== 1) throw new HuffmanError('huffman: invalid padding');
  return out.toString('latin1', 0, outLength);
}

/** Length in octets of the Huffman encoding of these octets. */
export function huffmanEncodedLength(octets: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < octets.length; i++) bits += HUFFMAN_LENGTHS[octets[i]!]!;
  return Math.ceil(bits / 8);
}

/**
 * Huffman-encodes octets into out at offset, padding the last byte with ones (the EOS prefix);
 * returns the offset past the written bytes. The encoder of this transport sends raw strings;
 * this exists for completeness and tests.
 */
export function huffmanEncodeInto(octets: Uint8Array, out: Uint8Array, offset: number): number {
  // Pending bits stay below 8 + 30, well inside a double's exact integer range.
  let pending = 0;
  let pendingBits = 0;
  let pos = offset;
  for (let i = 0; i < octets.length; i++) {
    const sym = octets[i]!;
    const lengthBits = HUFFMAN_LENGTHS[sym]!;
    pending = pending * 2 ** lengthBits + HUFFMAN_CODES[sym]!;
    pendingBits += lengthBits;
    while (pendingBits >= 8) {
      pendingBits -= 8;
      const divisor = 2 ** pendingBits;
      const byte = Math.floor(pending / divisor);
      out[pos++] = byte;
      pending -= byte * divisor;
    }
  }
  if (pendingBits > 0) {
    const padBits = 8 - pendingBits;
    out[pos++] = pending * 2 ** padBits + (2 ** padBits - 1);
  }
  return pos;
}

/** Convenience for tests and non-hot paths. */
export function huffmanEncode(octets: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(huffmanEncodedLength(octets));
  const end = huffmanEncodeInto(octets, out, 0);
  if (end !== out.length) throw new Error('huffman: encoded length mismatch');
  return out;
}
