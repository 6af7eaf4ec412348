import type { Operation, Value } from '../../histories/index.js';
import { Interner, REJECT, type Model } from './model.js';
import { partitionByKey, unkey } from './keyed.js';

const GET = 0;
const PUT = 1;
const APPEND = 2;

interface KvOp {
  readonly kind: number;
  /** Interned piece id (put / append) or expected string id (get). */
  readonly v: number;
}

function text(v: Value | undefined): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const BASE = 0x01000193;

function pow32(base: number, exp: number): number {
  let r = 1;
  let b = base;
  for (let e = exp; e > 0; e >>>= 1) {
    if (e & 1) r = Math.imul(r, b);
    b = Math.imul(b, b);
  }
  return r;
}

function hash32(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, BASE) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * States as nodes of a trie of appended pieces: a node is (parent, piece), with the length and a
 * polynomial hash of its string kept incrementally, so an append is O(1) and never builds or
 * hashes the (long, growing) string. Two nodes may spell the same string ("ab" vs "a"+"b"); the
 * search then just treats them as different states, which only costs pruning, never soundness.
 * A get compares length and hash, and the real strings only when those match.
 */
class StringTrie {
  private readonly parent: number[] = [-1];
  private readonly piece: number[] = [-1];
  private readonly len: number[] = [0];
  private readonly hash: number[] = [0];
  private readonly spelled: Array<string | undefined> = [''];
  // Children as sibling lists: a node has few children (one per concurrent append), and a
  // Map keyed by a 52-bit pair number would box every key.
  private readonly firstChild: number[] = [-1];
  private readonly nextSibling: number[] = [-1];
  readonly pieces = new Interner();
  private readonly pieceLen: number[] = [];
  private readonly pieceHash: number[] = [];
  private readonly piecePow: number[] = [];
  static readonly EMPTY = 0;

  pieceId(s: string): number {
    const id = this.pieces.id(s);
    if (id === this.pieceLen.length) {
      this.pieceLen.push(s.length);
      this.pieceHash.push(hash32(s));
      this.piecePow.push(pow32(BASE, s.length));
    }
    return id;
  }

  /** The root-level node spelling exactly the piece (a put), found without a sibling walk. */
  private readonly putNode: number[] = [];

  put(pieceId: number): number {
    let n = this.putNode[pieceId];
    if (n === undefined) {
      n = this.append(StringTrie.EMPTY, pieceId);
      this.putNode[pieceId] = n;
    }
    return n;
  }

  append(node: number, pieceId: number): number {
    for (let c = this.firstChild[node] as number; c !== -1; c = this.nextSibling[c] as number) {
      if (this.piece[c] === pieceId) return c;
    }
    const child = this.parent.length;
    this.parent.push(node);
    this.piece.push(pieceId);
    this.len.push((this.len[node] as number) + (this.pieceLen[pieceId] as number));
    this.hash.push((Math.imul(this.hash[node] as number, this.piecePow[pieceId] as number) + (this.pieceHash[pieceId] as number)) | 0);
    this.spelled.push(undefined);
    this.firstChild.push(-1);
    this.nextSibling.push(this.firstChild[node] as number);
    this.firstChild[node] = child;
    return child;
  }

  private readonly prefixHashes: Array<Int32Array | undefined> = [];

  /** Whether the node's string is (probably: hashes can collide) a prefix of the piece. */
  maybePrefixOf(node: number, pieceId: number): boolean {
    const n = this.len[node] as number;
    if (n > (this.pieceLen[pieceId] as number)) return false;
    let ph = this.prefixHashes[pieceId];
    if (ph === undefined) {
      const s = this.pieces.value(pieceId);
      ph = new Int32Array(s.length + 1);
      for (let i = 0; i < s.length; i++) ph[i + 1] = (Math.imul(ph[i] as number, BASE) + s.charCodeAt(i)) | 0;
      this.prefixHashes[pieceId] = ph;
    }
    return ph[n] === this.hash[node];
  }

  matches(node: number, pieceId: number): boolean {
    if (this.len[node] !== this.pieceLen[pieceId] || this.hash[node] !== this.pieceHash[pieceId]) return false;
    return this.spell(node) === this.pieces.value(pieceId);
  }

  spell(node: number): string {
    const cached = this.spelled[node];
    if (cached !== undefined) return cached;
    const s = this.spell(this.parent[node] as number) + this.pieces.value(this.piece[node] as number);
    this.spelled[node] = s;
    return s;
  }
}

/**
 * Porcupine's key-value model, per key: get / put / append on strings, initial value "".
 */
export function kvModel(): Model<KvOp> {
  const trie = new StringTrie();
  return {
    name: 'kv',
    prepare(op: Operation): KvOp | null {
      const input = unkey(op.input);
      switch (op.f) {
        case 'get':
          return op.status === 'ok' ? { kind: GET, v: trie.pieceId(text(unkey(op.output))) } : null;
        case 'put':
          return op.status === 'fail' ? null : { kind: PUT, v: trie.pieceId(text(input)) };
        case 'append':
          return op.status === 'fail' ? null : { kind: APPEND, v: trie.pieceId(text(input)) };
        default:
          throw new Error(`op ${op.invoke.index}: kv has no f ${op.f}`);
      }
    },
    init: () => StringTrie.EMPTY,
    step(state: number, p: KvOp): number {
      if (p.kind === GET) return trie.matches(state, p.v) ? state : REJECT;
      return p.kind === PUT ? trie.put(p.v) : trie.append(state, p.v);
    },
    opKey: (p) => `${p.kind}:${p.v}`,
    readOnly: (p) => p.kind === GET,
    // Appends only extend the string: a pending get is reachable only from its prefixes.
    canReach: (state, target) => target.kind !== GET || trie.maybePrefixOf(state, target.v),
    isTarget: (p) => p.kind === GET,
    rescues: (r, target) => r.kind === PUT && trie.maybePrefixOf(trie.put(r.v), target.v),
    partition: partitionByKey,
    describeOp(op: Operation): string {
      const status = op.status === 'ok' ? '' : ` (${op.status})`;
      if (op.f === 'get') return `get -> ${op.status === 'ok' ? JSON.stringify(text(unkey(op.output))) : '?'}${status}`;
      return `${op.f} ${JSON.stringify(text(unkey(op.input)))}${status}`;
    },
    describeState: (s) => JSON.stringify(trie.spell(s)),
  };
}
