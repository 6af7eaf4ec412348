/**
 * A parser for the subset of proto3 that etcd's API uses: packages, imports, messages (nested),
 * enums (nested or top-level), oneofs, repeated fields and services with streaming RPCs.
 * Options, field options and RPC option blocks are parsed and dropped, so etcd's original files
 * (with gogoproto and google.api.http annotations) parse too and can be compared with ours.
 * Maps, groups, extensions and proto2 are refused with an error naming the line.
 */

export const SCALAR_TYPES = [
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

export interface FieldDef {
  readonly name: string;
  readonly number: number;
  /** As written: a scalar name or a (possibly qualified) message or enum name. */
  readonly typeName: string;
  readonly repeated: boolean;
  /** Name of the enclosing oneof, if any. */
  readonly oneof: string | undefined;
}

export interface EnumDef {
  /** Fully qualified, e.g. "etcdserverpb.RangeRequest.SortOrder". */
  readonly fullName: string;
  readonly values: ReadonlyArray<{ readonly name: string; readonly number: number }>;
}

export interface MessageDef {
  readonly fullName: string;
  readonly fields: readonly FieldDef[];
  readonly oneofs: readonly string[];
}

export interface MethodDef {
  readonly name: string;
  readonly requestType: string;
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface ServiceDef {
  readonly fullName: string;
  readonly methods: readonly MethodDef[];
}

export interface ProtoFile {
  readonly fileName: string;
  readonly packageName: string;
  readonly imports: readonly string[];
  /** In declaration order; nested messages and enums follow their parent. */
  readonly messages: readonly MessageDef[];
  readonly enums: readonly EnumDef[];
  readonly services: readonly ServiceDef[];
}

interface Token {
  readonly text: string;
  readonly line: number;
}

function tokenize(source: string, fileName: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (source.startsWith('/*', i)) {
      const close = source.indexOf('*/', i + 2);
      if (close < 0) throw new Error(`${fileName}:${line}: unterminated comment`);
      for (let j = i; j < close; j++) if (source[j] === '\n') line++;
      i = close + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      tokens.push({ text: source.slice(i, j + 1), line });
      i = j + 1;
    } else if (/[A-Za-z0-9_.\-+]/.test(c)) {
      let j = i;
      while (j < source.length && /[A-Za-z0-9_.\-+]/.test(source[j] as string)) j++;
      tokens.push({ text: source.slice(i, j), line });
      i = j;
    } else {
      tokens.push({ text: c, line });
      i++;
    }
  }
  return tokens;
}

class Parser {
  private at = 0;
  readonly messages: MessageDef[] = [];
  readonly enums: EnumDef[] = [];
  readonly services: ServiceDef[] = [];
  readonly imports: string[] = [];
  packageName = '';

  constructor(
    private readonly tokens: readonly Token[],
    private readonly fileName: string,
  ) {}

  private fail(message: string): never {
    const token = this.tokens[this.at] ?? this.tokens[this.tokens.length - 1];
    throw new Error(`${this.fileName}:${token?.line ?? 0}: ${message}`);
  }

  private peek(): string | undefined {
    return this.tokens[this.at]?.text;
  }

  private next(): string {
    const token = this.tokens[this.at++];
    if (token === undefined) this.fail('unexpected end of file');
    return token.text;
  }

  private expect(text: string): void {
    const got = this.next();
    if (got !== text) this.fail(`expected "${text}", got "${got}"`);
  }

  private identifier(): string {
    const got = this.next();
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(got)) this.fail(`expected an identifier, got "${got}"`);
    return got;
  }

  private integer(): number {
    const got = this.next();
    if (!/^-?[0-9]+$/.test(got)) this.fail(`expected an integer, got "${got}"`);
    return Number(got);
  }

  /** Skips a balanced (...), [...] or {...} group, or anything up to the next ";". */
  private skipBalanced(open: string, close: string): void {
    this.expect(open);
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t === open) depth++;
      else if (t === close) depth--;
    }
  }

  private skipStatement(): void {
    while (this.peek() !== ';') {
      if (this.peek() === '{') this.skipBalanced('{', '}');
      else this.next();
    }
    this.expect(';');
  }

  parseFile(): void {
    while (this.peek() !== undefined) {
      const keyword = this.next();
      if (keyword === ';') continue;
      if (keyword === 'syntax') {
        this.expect('=');
        const value = this.next();
        if (value !== '"proto3"') this.fail(`only proto3 is supported, got ${value}`);
        this.expect(';');
      } else if (keyword === 'package') {
        this.packageName = this.identifier();
        this.expect(';');
      } else if (keyword === 'import') {
        this.imports.push(this.next().slice(1, -1));
        this.expect(';');
      } else if (keyword === 'option') {
        this.skipStatement();
      } else if (keyword === 'message') {
        this.parseMessage(this.packageName);
      } else if (keyword === 'enum') {
        this.parseEnum(this.packageName);
      } else if (keyword === 'service') {
        this.parseService();
      } else {
        this.fail(`unsupported top-level statement "${keyword}"`);
      }
    }
  }

  private parseMessage(scope: string): void {
    const fullName = `${scope}.${this.identifier()}`;
    const fields: FieldDef[] = [];
    const oneofs: string[] = [];
    const message: MessageDef = { fullName, fields, oneofs };
    this.messages.push(message);
    this.expect('{');
    while (this.peek() !== '}') {
      const t = this.peek();
      if (t === ';') this.next();
      else if (t === 'message') {
        this.next();
        this.parseMessage(fullName);
      } else if (t === 'enum') {
        this.next();
        this.parseEnum(fullName);
      } else if (t === 'option') this.skipStatement();
      else if (t === 'reserved') this.skipStatement();
      else if (t === 'oneof') {
        this.next();
        const oneofName = this.identifier();
        oneofs.push(oneofName);
        this.expect('{');
        while (this.peek() !== '}') {
          if (this.peek() === 'option') this.skipStatement();
          else fields.push(this.parseField(oneofName));
        }
        this.expect('}');
      } else fields.push(this.parseField(undefined));
    }
    this.expect('}');
    this.checkFieldNumbers(message);
  }

  private parseField(oneof: string | undefined): FieldDef {
    let repeated = false;
    let typeName = this.identifier();
    if (typeName === 'repeated') {
      if (oneof !== undefined) this.fail('repeated field inside a oneof');
      repeated = true;
      typeName = this.identifier();
    } else if (typeName === 'optional' || typeName === 'required' || typeName === 'map') {
      this.fail(`"${typeName}" fields are not supported`);
    }
    const name = this.identifier();
    this.expect('=');
    const number = this.integer();
    if (this.peek() === '[') this.skipBalanced('[', ']');
    this.expect(';');
    return { name, number, typeName, repeated, oneof };
  }

  private checkFieldNumbers(message: MessageDef): void {
    const seen = new Set<number>();
    for (const f of message.fields) {
      if (f.number < 1 || f.number > 536870911) this.fail(`${message.fullName}.${f.name}: bad number`);
      if (seen.has(f.number)) this.fail(`${message.fullName}: field number ${f.number} reused`);
      seen.add(f.number);
    }
  }

  private parseEnum(scope: string): void {
    const fullName = `${scope}.${this.identifier()}`;
    const values: Array<{ name: string; number: number }> = [];
    this.expect('{');
    while (this.peek() !== '}') {
      if (this.peek() === ';') {
        this.next();
        continue;
      }
      if (this.peek() === 'option' || this.peek() === 'reserved') {
        this.skipStatement();
        continue;
      }
      const name = this.identifier();
      this.expect('=');
      const number = this.integer();
      if (this.peek() === '[') this.skipBalanced('[', ']');
      this.expect(';');
      values.push({ name, number });
    }
    this.expect('}');
    if (values[0]?.number !== 0) this.fail(`${fullName}: a proto3 enum must start at 0`);
    this.enums.push({ fullName, values });
  }

  private parseService(): void {
    const fullName = `${this.packageName}.${this.identifier()}`;
    const methods: MethodDef[] = [];
    this.expect('{');
    while (this.peek() !== '}') {
      const t = this.next();
      if (t === ';') continue;
      if (t === 'option') {
        this.skipStatement();
        continue;
      }
      if (t !== 'rpc') this.fail(`expected rpc, got "${t}"`);
      methods.push(this.parseMethod());
    }
    this.expect('}');
    this.services.push({ fullName, methods });
  }

  private parseMethod(): MethodDef {
    const name = this.identifier();
    const request = this.parseMethodType();
    this.expect('returns');
    const response = this.parseMethodType();
    if (this.peek() === '{') this.skipBalanced('{', '}');
    else this.expect(';');
    return {
      name,
      requestType: request.typeName,
      responseType: response.typeName,
      requestStream: request.stream,
      responseStream: response.stream,
    };
  }

  private parseMethodType(): { typeName: string; stream: boolean } {
    this.expect('(');
    let typeName = this.identifier();
    let stream = false;
    if (typeName === 'stream') {
      stream = true;
      typeName = this.identifier();
    }
    this.expect(')');
    return { typeName, stream };
  }
}

export function parseProto(source: string, fileName: string): ProtoFile {
  const parser = new Parser(tokenize(source, fileName), fileName);
  parser.parseFile();
  if (parser.packageName === '') throw new Error(`${fileName}: no package statement`);
  return {
    fileName,
    packageName: parser.packageName,
    imports: parser.imports,
    messages: parser.messages,
    enums: parser.enums,
    services: parser.services,
  };
}
