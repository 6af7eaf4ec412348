import { HistoryError } from './op.js';

/**
 * A small EDN reader: enough for Jepsen histories and porcupine's kv logs. It reads nil,
 * booleans, integers (bigint beyond 2^53), floats, ratios (as floats), strings, characters,
 * keywords, symbols, lists, vectors, maps, sets, tagged literals, `;` comments and `#_` discards.
 */
export class Keyword {
  private static readonly interned = new Map<string, Keyword>();
  private constructor(readonly name: string) {}
  static of(name: string): Keyword {
    let k = Keyword.interned.get(name);
    if (k === undefined) {
      k = new Keyword(name);
      Keyword.interned.set(name, k);
    }
    return k;
  }
  toString(): string {
    return ':' + this.name;
  }
}

export class EdnSymbol {
  constructor(readonly name: string) {}
}

export class EdnMap {
  constructor(readonly entries: Array<[EdnValue, EdnValue]>) {}
  /** Looks up a keyword key by name (the common case in Jepsen op maps). */
  get(keywordName: string): EdnValue | undefined {
    for (const [k, v] of this.entries) if (k instanceof Keyword && k.name === keywordName) return v;
    return undefined;
  }
  has(keywordName: string): boolean {
    return this.get(keywordName) !== undefined;
  }
}

export class EdnSet {
  constructor(readonly items: EdnValue[]) {}
}

export class EdnList {
  constructor(readonly items: EdnValue[]) {}
}

export class EdnTagged {
  constructor(
    readonly tag: string,
    readonly value: EdnValue,
  ) {}
}

export class EdnChar {
  constructor(readonly char: string) {}
}

export type EdnValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Keyword
  | EdnSymbol
  | EdnChar
  | EdnValue[]
  | EdnList
  | EdnMap
  | EdnSet
  | EdnTagged;

const DELIMS = new Set(['(', ')', '[', ']', '{', '}', '"', ';']);

function isWs(c: string): boolean {
  return c === ' ' || c === ',' || c === '\n' || c === '\t' || c === '\r' || c === '\f';
}

const CHAR_NAMES: Record<string, string> = { newline: '\n', space: ' ', tab: '\t', return: '\r', formfeed: '\f', backspace: '\b' };
const STRING_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', b: '\b', f: '\f' };

export class EdnReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  /** True when only whitespace and comments remain. */
  atEnd(): boolean {
    this.skip();
    return this.pos >= this.text.length;
  }

  read(): EdnValue {
    this.skip();
    if (this.pos >= this.text.length) this.fail('unexpected end of input');
    const c = this.text[this.pos] as string;
    switch (c) {
      case '(': this.pos++; return new EdnList(this.readSeq(')'));
      case '[': this.pos++; return this.readSeq(']');
      case '{': this.pos++; return this.readMap();
      case '"': this.pos++; return this.readString();
      case '\\': return this.readChar();
      case '#': return this.readDispatch();
      case ')': case ']': case '}': this.fail(`unexpected '${c}'`);
    }
    return this.readAtom();
  }

  private fail(message: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split('\n').length;
    throw new HistoryError(`EDN line ${line}: ${message}`);
  }

  private skip(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos] as string;
      if (isWs(c)) this.pos++;
      else if (c === ';') {
        while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      } else break;
    }
  }

  private readSeq(close: string): EdnValue[] {
    const items: EdnValue[] = [];
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) this.fail(`missing '${close}'`);
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      if (this.discarded()) continue;
      items.push(this.read());
    }
  }

  private readMap(): EdnMap {
    const items = this.readSeq('}');
    if (items.length % 2 !== 0) this.fail('map with an odd number of forms');
    const entries: Array<[EdnValue, EdnValue]> = [];
    for (let i = 0; i < items.length; i += 2) entries.push([items[i] as EdnValue, items[i + 1] as EdnValue]);
    return new EdnMap(entries);
  }

  /** Handles `#_ form` inside collections; returns true when a form was dropped. */
  private discarded(): boolean {
    if (this.text.startsWith('#_', this.pos)) {
      this.pos += 2;
      this.read();
      return true;
    }
    return false;
  }

  private readDispatch(): EdnValue {
    const next = this.text[this.pos + 1];
    if (next === '{') {
      this.pos += 2;
      return new EdnSet(this.readSeq('}'));
    }
    if (next === '_') {
      this.pos += 2;
      this.read();
      return this.read();
    }
    this.pos++;
    const tag = this.readToken();
    if (tag === '') this.fail('bad dispatch character');
    return new EdnTagged(tag, this.read());
  }

  private readString(): string {
    const t = this.text;
    let out = '';
    let start = this.pos;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === '"') {
        out += t.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c === '\\') {
        out += t.slice(start, this.pos);
        const e = t[this.pos + 1] ?? '';
        if (e === 'u') {
          out += String.fromCharCode(parseInt(t.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          const mapped = STRING_ESCAPES[e];
          if (mapped === undefined) this.fail(`bad string escape \\${e}`);
          out += mapped;
          this.pos += 2;
        }
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    return this.fail('unterminated string');
  }

  private readChar(): EdnChar {
    this.pos++;
    const first = this.text[this.pos] ?? '';
    this.pos++;
    const rest = this.readToken();
    const name = first + rest;
    if (name.length === 1) return new EdnChar(name);
    const named = CHAR_NAMES[name];
    if (named !== undefined) return new EdnChar(named);
    if (name.startsWith('u') && name.length === 5) return new EdnChar(String.fromCharCode(parseInt(name.slice(1), 16)));
    return this.fail(`bad character \\${name}`);
  }

  private readToken(): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length) {
      const c = t[this.pos] as string;
      if (isWs(c) || DELIMS.has(c)) break;
      this.pos++;
    }
    return t.slice(start, this.pos);
  }

  private readAtom(): EdnValue {
    const tok = this.readToken();
    if (tok === '') this.fail(`unexpected '${this.text[this.pos] ?? ''}'`);
    if (tok === 'nil') return null;
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (tok.startsWith(':')) return Keyword.of(tok.slice(1));
    const n = parseNumber(tok);
    if (n !== undefined) return n;
    return new EdnSymbol(tok);
  }
}

function parseNumber(tok: string): number | bigint | undefined {
  if (/^[+-]?\d+N?$/.test(tok)) {
    const digits = tok.endsWith('N') ? tok.slice(0, -1) : tok;
    const n = Number(digits);
    return Number.isSafeInteger(n) ? n : BigInt(digits);
  }
  if (/^[+-]?\d+\/\d+$/.test(tok)) {
    const [a, b] = tok.split('/');
    return Number(a) / Number(b);
  }
  if (/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+)M?$/.test(tok)) return Number(tok.replace(/M$/, ''));
  return undefined;
}

export function readEdn(text: string): EdnValue {
  const r = new EdnReader(text);
  const v = r.read();
  if (!r.atEnd()) throw new HistoryError('EDN: trailing forms after the first');
  return v;
}

export function readAllEdn(text: string): EdnValue[] {
  const r = new EdnReader(text);
  const out: EdnValue[] = [];
  while (!r.atEnd()) out.push(r.read());
  return out;
}
