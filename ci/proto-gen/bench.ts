/**
 * Codec throughput: our generated static codec, and protobufjs (reflection + runtime codegen) on
 * the same .proto files when it happens to be installed (it comes with @grpc/grpc-js; nothing in
 * src/ uses it).
 *   npx tsx ci/proto-gen/bench.ts
 * Messages: a PutRequest (16 B key, 256 B value) and a RangeResponse of 100 such kvs. Each
 * figure is the median of 3 timed rounds of at least 300 ms, after a warm-up round.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import {
  encodePutRequest, decodePutRequest, encodeRangeResponse, decodeRangeResponse,
} from '../../src/grpc/index.js';
import type { PutRequestInit, RangeResponseInit } from '../../src/grpc/index.js';

const protoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'grpc', 'proto');

function bytesOf(text: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = text.charCodeAt(i % text.length);
  return out;
}

const put: PutRequestInit = { key: bytesOf('key-000000000001', 16), value: bytesOf('value', 256) };
const range: RangeResponseInit = {
  header: { clusterId: 0x1c2d3e4f5a6b7c8dn, memberId: 0x8e9cbc3e7a4c2f01n, revision: 1_000_123n, raftTerm: 7n },
  kvs: Array.from({ length: 100 }, (_, i) => ({
    key: bytesOf(`key-${String(i).padStart(12, '0')}`, 16),
    value: bytesOf('value', 256),
    createRevision: 1_000_000n + BigInt(i),
    modRevision: 1_000_050n + BigInt(i),
    version: 3n,
  })),
  count: 100n,
};

function opsPerSecond(fn: () => void): number {
  const round = (): number => {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < 300) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
      elapsed = performance.now() - start;
    }
    return (n / elapsed) * 1000;
  };
  round();
  const rounds = [round(), round(), round()].sort((a, b) => a - b);
  return rounds[1] as number;
}

function report(name: string, ops: number, bytes: number): void {
  const mbPerS = (ops * bytes) / 1e6;
  console.log(`${name.padEnd(44)} ${Math.round(ops).toLocaleString('en-US').padStart(10)} ops/s  ${mbPerS.toFixed(0).padStart(5)} MB/s`);
}

interface PbType {
  fromObject(o: object): object;
  toObject(m: object, options: object): object;
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
}

/** The conversion @grpc/proto-loader applies by default after every decode. */
const PROTO_LOADER_OPTIONS = { longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true };

function loadProtobufjs(): ((name: string) => PbType) | undefined {
  try {
    const require = createRequire(import.meta.url);
    const protobuf = require('protobufjs') as {
      Root: new () => { resolvePath: unknown; loadSync(f: string[]): { lookupType(n: string): PbType } };
    };
    const root = new protobuf.Root();
    root.resolvePath = (_origin: string, target: string): string => join(protoDir, target.replace(/^.*\//, ''));
    const loaded = root.loadSync(['rpc.proto']);
    return (name) => loaded.lookupType(name);
  } catch (error) {
    console.log(`protobufjs not available (${error instanceof Error ? error.message : String(error)}): ours only`);
    return undefined;
  }
}

const putBytes = encodePutRequest(put);
const rangeBytes = encodeRangeResponse(range);
console.log(`PutRequest ${putBytes.length} B, RangeResponse(100 kvs) ${rangeBytes.length} B`);
report('ours      encode PutRequest', opsPerSecond(() => encodePutRequest(put)), putBytes.length);
report('ours      decode PutRequest', opsPerSecond(() => decodePutRequest(putBytes)), putBytes.length);
report('ours      encode RangeResponse(100 kvs)', opsPerSecond(() => encodeRangeResponse(range)), rangeBytes.length);
report('ours      decode RangeResponse(100 kvs)', opsPerSecond(() => decodeRangeResponse(rangeBytes)), rangeBytes.length);

const lookup = loadProtobufjs();
if (lookup !== undefined) {
  const PutType = lookup('etcdserverpb.PutRequest');
  const RangeType = lookup('etcdserverpb.RangeResponse');
  // protobufjs wants its own object shape: snake-or-camel fields, int64 as number/Long/string.
  const toPb = (v: unknown): unknown =>
    typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? v.map(toPb)
      : v instanceof Uint8Array ? v
      : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPb(x)])) : v;
  const pbPut = PutType.fromObject(toPb(put) as object);
  const pbRange = RangeType.fromObject(toPb(range) as object);
  const pbRangeBytes = RangeType.encode(pbRange).finish();
  if (Buffer.compare(Buffer.from(pbRangeBytes), rangeBytes) !== 0) console.log('note: protobufjs bytes differ from ours');
  report('protobufjs encode PutRequest', opsPerSecond(() => PutType.encode(pbPut).finish()), putBytes.length);
  report('protobufjs decode PutRequest', opsPerSecond(() => PutType.decode(putBytes)), putBytes.length);
  report('protobufjs encode RangeResponse(100 kvs)', opsPerSecond(() => RangeType.encode(pbRange).finish()), rangeBytes.length);
  report('protobufjs decode RangeResponse(100 kvs)', opsPerSecond(() => RangeType.decode(rangeBytes)), rangeBytes.length);
  report(
    'protobufjs decode+toObject (proto-loader way)',
    opsPerSecond(() => RangeType.toObject(RangeType.decode(rangeBytes), PROTO_LOADER_OPTIONS)),
    rangeBytes.length,
  );
}
