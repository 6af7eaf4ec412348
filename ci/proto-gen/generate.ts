/** The generator as a pure function (proto sources in, file texts out), so a test can run it. */
import { parseProto } from './parse.js';
import { buildModel } from './model.js';
import { emitPackage, emitSchema, emitServices } from './emit.js';

/** The API's .proto files, in dependency order. */
export const PROTO_FILES = ['kv.proto', 'auth.proto', 'rpc.proto', 'v3lock.proto', 'v3election.proto'] as const;

export function generateAll(readProto: (fileName: string) => string): Map<string, string> {
  const parsed = PROTO_FILES.map((name) => parseProto(readProto(name), name));
  const model = buildModel(parsed);
  const out = new Map<string, string>();
  for (const pkg of model.packages) out.set(`${pkg}.ts`, emitPackage(model, pkg));
  out.set('services.ts', emitServices(model));
  out.set('schema.ts', emitSchema(model));
  return out;
}
