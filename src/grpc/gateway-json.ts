/**
 * Protobuf messages <-> JSON, driven by the generated schema (MESSAGES / ENUMS), in the two
 * dialects etcd users meet:
 * - 'gateway': grpc-gateway's jsonpb as etcd's HTTP gateway configures it (proto field names,
 *   int64 as decimal strings, enums by name, a oneof as its set field, defaults omitted).
 * - 'go': Go's encoding/json over the gogoproto structs, which is what `etcdctl -w json` prints
 *   (proto field names, int64 as bare numbers, enums as numbers, a oneof wrapped in the Go
 *   field names {"Response":{"ResponsePut":{...}}}, zero values omitted by omitempty).
 * Decoded messages use the generated shapes: properties named by jsonName, a oneof as
 * { case, value } under its oneof name, int64 as bigint, bytes as Uint8Array.
 */
import { ENUMS, MESSAGES } from './generated/schema.js';
import type { FieldSchema, MessageSchema } from './generated/schema.js';

export type JsonDialect = 'gateway' | 'go';

/** A request body that does not map onto the message: the gateway answers 400 with it. */
export class JsonMappingError extends Error {}

function schemaOf(type: string): MessageSchema {
  const schema = MESSAGES[type];
  if (schema === undefined) throw new Error(`unknown message type ${type}`);
  return schema;
}

const isInt64 = (f: FieldSchema): boolean => f.kind === 'int64' || f.kind === 'uint64';

/** Go's exported field name for a proto name: request_delete_range -> RequestDeleteRange. */
function goName(protoName: string): string {
  return protoName
    .split('_')
    .map((part) => (part.length === 0 ? '' : part[0]!.toUpperCase() + part.slice(1)))
    .join('');
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

function isZero(f: FieldSchema, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (f.repeated) return (v as unknown[]).length === 0;
  switch (f.kind) {
    case 'bytes':
      return (v as Uint8Array).length === 0;
    case 'string':
      return v === '';
    case 'bool':
      return v === false;
    case 'message':
      return false;
    default:
      return v === 0 || v === 0n;
  }
}

function enumName(type: string | undefined, value: number): string | undefined {
  const values = type === undefined ? undefined : ENUMS[type];
  if (values === undefined) return undefined;
  for (const [name, n] of Object.entries(values)) if (n === value) return name;
  return undefined;
}

function scalarToJson(f: FieldSchema, v: unknown, dialect: JsonDialect): string {
  switch (f.kind) {
    case 'bytes':
      return JSON.stringify(Buffer.from(v as Uint8Array).toString('base64'));
    case 'string':
      return JSON.stringify(v);
    case 'bool':
      return v ? 'true' : 'false';
    case 'message':
      return messageToJson(f.type as string, v as object, dialect);
    case 'enum': {
      const name = dialect === 'gateway' ? enumName(f.type, v as number) : undefined;
      return name === undefined ? String(v) : JSON.stringify(name);
    }
    default:
      if (isInt64(f) && dialect === 'gateway') return JSON.stringify(String(v));
      return String(v);
  }
}

function valueToJson(f: FieldSchema, v: unknown, dialect: JsonDialect): string {
  if (!f.repeated) return scalarToJson(f, v, dialect);
  return '[' + (v as unknown[]).map((item) => scalarToJson(f, item, dialect)).join(',') + ']';
}

/** Serialises a decoded message; see the header comment for the dialects. */
export function messageToJson(type: string, message: object, dialect: JsonDialect): string {
  const schema = schemaOf(type);
  const record = message as Record<string, unknown>;
  const parts: string[] = [];
  const oneofsDone = new Set<string>();
  for (const f of schema.fields) {
    if (f.oneof !== undefined) {
      if (oneofsDone.has(f.oneof)) continue;
      oneofsDone.add(f.oneof);
      const set = record[f.oneof] as { case: string; value: unknown } | undefined;
      if (set === undefined) continue;
      const chosen = schema.fields.find((g) => g.oneof === f.oneof && g.jsonName === set.case);
      if (chosen === undefined) continue;
      const inner = scalarToJson(chosen, set.value, dialect);
      if (dialect === 'gateway') parts.push(`${JSON.stringify(chosen.name)}:${inner}`);
      else parts.push(`${JSON.stringify(goName(snake(f.oneof)))}:{${JSON.stringify(goName(chosen.name))}:${inner}}`);
      continue;
    }
    const v = record[f.jsonName];
    if (isZero(f, v)) continue;
    parts.push(`${JSON.stringify(f.name)}:${valueToJson(f, v, dialect)}`);
  }
  return '{' + parts.join(',') + '}';
}

function fieldByJsonKey(schema: MessageSchema, key: string): FieldSchema | undefined {
  return schema.fields.find((f) => f.name === key || f.jsonName === key);
}

function parseInt64(f: FieldSchema, v: unknown): bigint {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v.trim())) {
    const n = BigInt(v.trim());
    const ok = f.kind === 'uint64' ? n >= 0n && n < 1n << 64n : n >= -(1n << 63n) && n < 1n << 63n;
    if (ok) return n;
  }
  throw new JsonMappingError(`json: cannot unmarshal ${JSON.stringify(v)} into Go value of type ${f.kind}`);
}

function parseInt32(f: FieldSchema, v: unknown): number {
  const n = typeof v === 'string' && /^-?[0-9]+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && (f.kind === 'uint32' ? n >= 0 && n <= 0xffffffff : Math.abs(n) <= 0x7fffffff)) return n;
  throw new JsonMappingError(`json: cannot unmarshal ${JSON.stringify(v)} into Go value of type ${f.kind}`);
}

function parseEnum(f: FieldSchema, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const values = f.type === undefined ? undefined : ENUMS[f.type];
  const n = typeof v === 'string' ? values?.[v] : undefined;
  if (n === undefined) throw new JsonMappingError(`unknown value ${JSON.stringify(v)} for enum ${f.type ?? ''}`);
  return n;
}

function parseBytes(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) {
    throw new JsonMappingError(`illegal base64 data in ${JSON.stringify(v)}`);
  }
  return new Uint8Array(Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64'));
}

function scalarFromJson(f: FieldSchema, v: unknown): unknown {
  switch (f.kind) {
    case 'bytes':
      return parseBytes(v);
    case 'string':
      if (typeof v !== 'string') throw new JsonMappingError(`json: cannot unmarshal ${typeof v} into Go value of type string`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new JsonMappingError(`json: cannot unmarshal ${typeof v} into Go value of type bool`);
      return v;
    case 'message':
      return jsonToMessageInit(f.type as string, v);
    case 'enum':
      return parseEnum(f, v);
    case 'int32':
    case 'uint32':
      return parseInt32(f, v);
    default:
      return parseInt64(f, v);
  }
}

/**
 * Maps a parsed JSON body onto an encoder-ready Init object. Accepts proto (snake_case) or
 * JSON (camelCase) names, int64 as numbers or strings, enums by name or number, a oneof as its
 * field; unknown fields are ignored and null means unset, as grpc-gateway does.
 */
export function jsonToMessageInit(type: string, json: unknown): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new JsonMappingError(`json: cannot unmarshal ${Array.isArray(json) ? 'array' : typeof json} into Go value of type ${type}`);
  }
  const schema = schemaOf(type);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    const f = fieldByJsonKey(schema, key);
    if (f === undefined || v === null) continue;
    let value: unknown;
    if (f.repeated) {
      if (!Array.isArray(v)) throw new JsonMappingError(`json: cannot unmarshal ${typeof v} into Go value of type []${f.kind}`);
      value = v.map((item) => scalarFromJson(f, item));
    } else value = scalarFromJson(f, v);
    if (f.oneof !== undefined) out[f.oneof] = { case: f.jsonName, value };
    else out[f.jsonName] = value;
  }
  return out;
}
