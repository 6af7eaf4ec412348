/**
 * Resolves the parsed .proto files into one model the emitter walks: every message and enum
 * by full name, every field's kind, TypeScript names, tags. Type names are resolved with
 * protobuf's scoping rule (innermost enclosing scope first, then outwards, then absolute).
 */
import type { EnumDef, FieldDef, MessageDef, ProtoFile, ScalarType, ServiceDef } from './parse.js';
import { SCALAR_TYPES } from './parse.js';

export type FieldKind = ScalarType | 'message' | 'enum';

export interface ResolvedField {
  readonly protoName: string;
  /** proto3 JSON name: underscores dropped, the following letter upper-cased. */
  readonly jsonName: string;
  readonly number: number;
  readonly kind: FieldKind;
  /** Full name of the message or enum type, for kind 'message' and 'enum'. */
  readonly typeFullName: string | undefined;
  readonly repeated: boolean;
  readonly oneof: string | undefined;
}

export interface ResolvedMessage {
  readonly fullName: string;
  readonly packageName: string;
  readonly tsName: string;
  readonly fields: readonly ResolvedField[];
  /** Oneof proto names, in declaration order. */
  readonly oneofs: readonly string[];
}

export interface ResolvedEnum {
  readonly fullName: string;
  readonly packageName: string;
  readonly tsName: string;
  readonly values: EnumDef['values'];
}

export interface ResolvedMethod {
  readonly name: string;
  readonly path: string;
  readonly requestType: string;
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface ResolvedService {
  readonly fullName: string;
  readonly packageName: string;
  readonly name: string;
  readonly methods: readonly ResolvedMethod[];
}

export interface Model {
  readonly packages: readonly string[];
  readonly messages: ReadonlyMap<string, ResolvedMessage>;
  readonly enums: ReadonlyMap<string, ResolvedEnum>;
  readonly services: readonly ResolvedService[];
  /** Source file name of each package, for the generated header. */
  readonly packageFiles: ReadonlyMap<string, string>;
}

export function jsonName(protoName: string): string {
  let out = '';
  let upper = false;
  for (const c of protoName) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

function tsNameOf(fullName: string, packageName: string): string {
  return fullName.slice(packageName.length + 1).replaceAll('.', '_');
}

function resolveTypeName(name: string, scope: string, known: (full: string) => boolean): string {
  if (name.startsWith('.')) return name.slice(1);
  const parts = scope.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), name].join('.');
    if (known(candidate)) return candidate;
  }
  throw new Error(`cannot resolve type "${name}" from scope "${scope}"`);
}

function resolveField(
  field: FieldDef,
  scope: string,
  messageNames: ReadonlySet<string>,
  enumNames: ReadonlySet<string>,
): ResolvedField {
  const base = {
    protoName: field.name,
    jsonName: jsonName(field.name),
    number: field.number,
    repeated: field.repeated,
    oneof: field.oneof,
  };
  if ((SCALAR_TYPES as readonly string[]).includes(field.typeName)) {
    return { ...base, kind: field.typeName as ScalarType, typeFullName: undefined };
  }
  const full = resolveTypeName(field.typeName, scope, (n) => messageNames.has(n) || enumNames.has(n));
  return { ...base, kind: messageNames.has(full) ? 'message' : 'enum', typeFullName: full };
}

function resolveService(service: ServiceDef, file: ProtoFile, messageNames: ReadonlySet<string>): ResolvedService {
  const resolve = (t: string): string =>
    resolveTypeName(t, file.packageName, (n) => messageNames.has(n));
  return {
    fullName: service.fullName,
    packageName: file.packageName,
    name: service.fullName.slice(file.packageName.length + 1),
    methods: service.methods.map((m) => ({
      name: m.name,
      path: `/${service.fullName}/${m.name}`,
      requestType: resolve(m.requestType),
      responseType: resolve(m.responseType),
      requestStream: m.requestStream,
      responseStream: m.responseStream,
    })),
  };
}

export function buildModel(files: readonly ProtoFile[]): Model {
  const messageNames = new Set<string>();
  const enumNames = new Set<string>();
  const packageFiles = new Map<string, string>();
  for (const file of files) {
    if (packageFiles.has(file.packageName)) throw new Error(`package ${file.packageName} spans files`);
    packageFiles.set(file.packageName, file.fileName);
    for (const m of file.messages) messageNames.add(m.fullName);
    for (const e of file.enums) enumNames.add(e.fullName);
  }
  const messages = new Map<string, ResolvedMessage>();
  const enums = new Map<string, ResolvedEnum>();
  const services: ResolvedService[] = [];
  for (const file of files) {
    const pkg = file.packageName;
    for (const m of file.messages) messages.set(m.fullName, resolveMessage(m, pkg, messageNames, enumNames));
    for (const e of file.enums) {
      enums.set(e.fullName, { fullName: e.fullName, packageName: pkg, tsName: tsNameOf(e.fullName, pkg), values: e.values });
    }
    for (const s of file.services) services.push(resolveService(s, file, messageNames));
  }
  checkTsNamesUnique(messages, enums);
  return { packages: [...packageFiles.keys()], messages, enums, services, packageFiles };
}

function resolveMessage(
  m: MessageDef,
  pkg: string,
  messageNames: ReadonlySet<string>,
  enumNames: ReadonlySet<string>,
): ResolvedMessage {
  const fields = m.fields
    .map((f) => resolveField(f, m.fullName, messageNames, enumNames))
    .sort((a, b) => a.number - b.number);
  return { fullName: m.fullName, packageName: pkg, tsName: tsNameOf(m.fullName, pkg), fields, oneofs: m.oneofs };
}

/** Generated files re-export nothing across packages, but a reader should never see two types of one name. */
function checkTsNamesUnique(
  messages: ReadonlyMap<string, ResolvedMessage>,
  enums: ReadonlyMap<string, ResolvedEnum>,
): void {
  const seen = new Map<string, string>();
  for (const t of [...messages.values(), ...enums.values()]) {
    const other = seen.get(t.tsName);
    if (other !== undefined) throw new Error(`TypeScript name ${t.tsName} used by ${other} and ${t.fullName}`);
    seen.set(t.tsName, t.fullName);
  }
}
