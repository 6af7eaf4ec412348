/**
 * `tsetcdctl snapshot restore`: a new data dir for one member of a NEW cluster, from a snapshot
 * file, as etcdctl 3.4 does for etcd. The keys, their revisions, leases, auth and alarms are
 * kept; the old membership and Raft position are dropped: the member list becomes
 * --initial-cluster, the member and cluster ids are derived from it and the token exactly as a
 * fresh `tsetcd --initial-cluster-state new` would, and the consistent index is reset so the new
 * cluster's Raft log (which starts empty, bootstrapped with the founders as voters) applies from
 * its first entry. Every member of the new cluster restores the same file with its own --name.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Applier } from '../apply/index.js';
import { NodeClock } from '../env/node/index.js';
import { LmdbBackend, MemoryBackend, encodeSnapshot } from '../mvcc/index.js';
import { MemberRegistry } from '../server/index.js';
import type { Member } from '../server/index.js';
import { nodeIdFromBigInt } from '../util/index.js';
import { computeClusterId, computeMemberId } from './member-id.js';
import { SnapshotFileError, readSnapshotFile } from './snapshot-file.js';

export interface RestoreOptions {
  readonly snapshotPath: string;
  readonly name: string;
  /** Default "<name>.tsetcd", as tsetcd's own --data-dir default (etcdctl: "<name>.etcd"). */
  readonly dataDir?: string;
  /** name=peerURL,... */
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: string;
  readonly skipHashCheck: boolean;
}

export interface RestoreResult {
  readonly dataDir: string;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly members: readonly Member[];
}

/** Meta records of the old cluster that a restored member must not inherit. */
const DROPPED_META = new Set(['consistent_index', 'term', 'membership']);

function parseCluster(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SnapshotFileError(`invalid --initial-cluster entry ${JSON.stringify(part)}`);
    const name = part.slice(0, eq);
    out.set(name, [...(out.get(name) ?? []), part.slice(eq + 1)]);
  }
  return out;
}

function founders(options: RestoreOptions): { self: Member; all: Member[] } {
  const cluster = parseCluster(options.initialCluster);
  const all: Member[] = [...cluster].map(([name, peerUrls]) => ({
    id: computeMemberId(peerUrls, options.initialClusterToken),
    name,
    peerUrls,
    clientUrls: [],
    isLearner: false,
  }));
  const self = all.find((m) => m.name === options.name);
  if (self === undefined) throw new SnapshotFileError(`couldn't find local name "${options.name}" in the initial cluster configuration`);
  const advertised = options.initialAdvertisePeerUrls.split(',').map((u) => u.trim()).sort();
  if (advertised.join(',') !== [...self.peerUrls].sort().join(',')) {
    throw new SnapshotFileError(`--initial-cluster has ${options.name}=${self.peerUrls.join(',')} but missing from --initial-advertise-peer-urls=${options.initialAdvertisePeerUrls}`);
  }
  return { self, all };
}

export function restoreSnapshot(options: RestoreOptions): RestoreResult {
  const dataDir = options.dataDir !== undefined && options.dataDir !== '' ? options.dataDir : `${options.name}.tsetcd`;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new SnapshotFileError(`data-dir "${dataDir}" exists`);
  const { self, all } = founders(options);
  const { entries } = readSnapshotFile(options.snapshotPath, options.skipHashCheck);
  const kept = new MemoryBackend();
  kept.beginBatch();
  for (const e of entries) {
    if (e.bucket === 'meta' && DROPPED_META.has(Buffer.from(e.key).toString('utf8'))) continue;
    kept.put(e.bucket, e.key, e.value);
  }
  kept.commitBatch();
  const dbDir = join(dataDir, 'member', 'db');
  mkdirSync(dbDir, { recursive: true });
  const backend = LmdbBackend.open(dbDir);
  try {
    const clock = new NodeClock();
    const applier = new Applier(backend, { clock, batchIntervalMs: 0 });
    applier.store.restoreFrom(encodeSnapshot(kept));
    const registry = new MemberRegistry(applier.store);
    registry.initialize(all);
    applier.commitNow();
  } finally {
    backend.close();
  }
  const clusterId = computeClusterId(all.map((m) => m.id));
  // The identity a tsetcd member reads at start (src/cli/server-process.ts loadIdentity).
  const identityPath = join(dataDir, 'member', 'identity.json');
  writeFileSync(identityPath + '.tmp', JSON.stringify({ memberId: nodeIdFromBigInt(self.id), clusterId: nodeIdFromBigInt(clusterId) }));
  renameSync(identityPath + '.tmp', identityPath);
  return { dataDir, memberId: self.id, clusterId, members: all };
}
