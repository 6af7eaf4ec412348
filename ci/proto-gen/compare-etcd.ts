/**
 * Compares our .proto files with etcd's originals, field by field:
 *   npx tsx ci/proto-gen/compare-etcd.ts [/usr/share/gocode/src/go.etcd.io/etcd]
 * (Debian's golang-etcd-server-dev installs them there.) Prints every message, field, enum value
 * or RPC that differs in name, number, type or cardinality, and what exists on one side only.
 * Exit 1 on a mismatch in something both sides define; additions are listed but allowed, since
 * our files also carry the 3.5/3.6 fields that a 3.4 tree lacks.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProto } from './parse.js';
import { buildModel } from './model.js';
import type { Model } from './model.js';
import { PROTO_FILES } from './generate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const etcdRoot = process.argv[2] ?? '/usr/share/gocode/src/go.etcd.io/etcd';
const ETCD_FILES = [
  'mvcc/mvccpb/kv.proto',
  'auth/authpb/auth.proto',
  'etcdserver/etcdserverpb/rpc.proto',
  'etcdserver/api/v3lock/v3lockpb/v3lock.proto',
  'etcdserver/api/v3election/v3electionpb/v3election.proto',
];

function describe(model: Model): Map<string, string> {
  const facts = new Map<string, string>();
  for (const m of model.messages.values()) {
    facts.set(`message ${m.fullName}`, 'present');
    for (const f of m.fields) {
      const type = f.typeFullName ?? f.kind;
      facts.set(`field ${m.fullName}.${f.protoName}`, `${f.repeated ? 'repeated ' : ''}${type} = ${f.number}${f.oneof ? ` (oneof ${f.oneof})` : ''}`);
    }
  }
  for (const e of model.enums.values()) for (const v of e.values) facts.set(`enum ${e.fullName}.${v.name}`, String(v.number));
  for (const s of model.services) for (const m of s.methods) {
    facts.set(`rpc ${s.fullName}.${m.name}`, `${m.requestStream ? 'stream ' : ''}${m.requestType} -> ${m.responseStream ? 'stream ' : ''}${m.responseType}`);
  }
  return facts;
}

const ours = describe(buildModel(PROTO_FILES.map((n) => parseProto(readFileSync(join(root, 'src/grpc/proto', n), 'utf8'), n))));
const theirs = describe(buildModel(ETCD_FILES.map((p) => parseProto(readFileSync(join(etcdRoot, p), 'utf8'), p))));
let mismatches = 0;
let onlyOurs = 0;
for (const [key, value] of theirs) {
  const mine = ours.get(key);
  if (mine === undefined) {
    console.log(`MISSING  ${key}: ${value}`);
    mismatches++;
  } else if (mine !== value) {
    console.log(`DIFFERS  ${key}: etcd "${value}", ours "${mine}"`);
    mismatches++;
  }
}
for (const [key, value] of ours) {
  if (!theirs.has(key)) {
    console.log(`EXTRA    ${key}: ${value}`);
    onlyOurs++;
  }
}
console.log(`${theirs.size} facts in etcd's files, ${mismatches} missing or different, ${onlyOurs} only in ours`);
process.exit(mismatches === 0 ? 0 : 1);
