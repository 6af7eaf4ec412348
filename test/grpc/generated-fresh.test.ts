/** The committed src/grpc/generated/ must be exactly what ci/proto-gen makes of the .proto files. */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateAll } from '../../ci/proto-gen/generate.js';
import { parseProto } from '../../ci/proto-gen/parse.js';

const protoDir = new URL('../../src/grpc/proto/', import.meta.url);
const generatedDir = new URL('../../src/grpc/generated/', import.meta.url);

describe('generated codecs', () => {
  const files = generateAll((name) => readFileSync(new URL(name, protoDir), 'utf8'));

  it('are up to date with the .proto files (run `npx tsx ci/proto-gen/main.ts` if not)', () => {
    for (const [name, text] of files) {
      expect(readFileSync(new URL(name, generatedDir), 'utf8'), name).toBe(text);
    }
    expect(readdirSync(generatedDir).sort()).toEqual([...files.keys()].sort());
  });

  it('every .proto file in src/grpc/proto is an input of the generator', () => {
    const protos = readdirSync(protoDir).filter((n) => n.endsWith('.proto')).sort();
    expect(protos).toEqual(['auth.proto', 'kv.proto', 'rpc.proto', 'v3election.proto', 'v3lock.proto']);
  });
});

describe('proto parser', () => {
  it('drops options and annotations but keeps names, numbers and streaming', () => {
    const file = parseProto(
      `syntax = "proto3"; package p; option (gogoproto.marshaler_all) = true;
       service S { rpc M(stream A) returns (B) { option (google.api.http) = { post: "/x" body: "*" }; } }
       message A { enum E { X = 0; Y = 1 [(opt) = "3.4"]; } repeated E e = 5 [(gogoproto.nullable) = false];
         oneof u { int64 n = 2; bytes b = 64; } }
       message B {}`,
      'test.proto',
    );
    expect(file.services[0]?.methods[0]).toEqual({
      name: 'M', requestType: 'A', responseType: 'B', requestStream: true, responseStream: false,
    });
    expect(file.messages[0]?.fields.map((f) => [f.name, f.number, f.repeated, f.oneof])).toEqual([
      ['e', 5, true, undefined], ['n', 2, false, 'u'], ['b', 64, false, 'u'],
    ]);
    expect(file.enums[0]?.values).toEqual([{ name: 'X', number: 0 }, { name: 'Y', number: 1 }]);
  });

  it('refuses what it cannot generate correctly', () => {
    expect(() => parseProto('syntax = "proto2"; package p;', 'x.proto')).toThrow(/proto3/);
    expect(() => parseProto('syntax = "proto3"; package p; message M { map<string, int32> m = 1; }', 'x.proto')).toThrow();
    expect(() => parseProto('syntax = "proto3"; package p; message M { int32 a = 1; int32 b = 1; }', 'x.proto')).toThrow(/reused/);
  });
});
