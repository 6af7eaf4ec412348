import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Applier } from '../apply/index.js';
import type { ApplyResult } from '../apply/index.js';
import { KvApi, MaintenanceApi } from '../api/index.js';
import type { MemberInfo } from '../api/index.js';
import { nodeEnv } from '../env/node/index.js';
import type { Transport } from '../env/index.js';
import { MvccStore, LmdbBackend } from '../mvcc/index.js';
import type { Message } from '../raft/index.js';
import { ServerNode } from '../server/index.js';
import { bindServices, createGrpcServer } from '../grpc/index.js';
import type { GrpcServer } from '../grpc/index.js';
import { nodeIdFromBigInt } from '../util/index.js';
import type { NodeId } from '../util/index.js';
import type { ServerFlags } from './flags.js';
import { computeClusterId, computeMemberId } from './member-id.js';

export interface RunningServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly clientPorts: readonly number[];
  close(): Promise<void>;
}

/** A transport for a cluster of one: there is nobody to talk to. */
function loneTransport(): Transport<Message> {
  return {
    send() {},
    onReceive() {},
  };
}

/** Composes a real member: env/node + WAL + LMDB-backed MVCC + Raft node loop + gRPC front door. */
export async function startServer(flags: ServerFlags): Promise<RunningServer> {
  const members: MemberInfo[] = [...flags.initialCluster].map(([name, peerUrls]) => ({
    id: computeMemberId(peerUrls, flags.initialClusterToken),
    name,
    peerUrls,
    clientUrls: name === flags.name ? flags.advertiseClientUrls : [],
    isLearner: false,
  }));
  const self = members.find((m) => m.name === flags.name) as MemberInfo;
  const clusterId = computeClusterId(members.map((m) => m.id));
  if (members.length > 1) throw new Error('multi-member clusters need the peer transport, which is not built yet');
  const env = nodeEnv(flags.dataDir, { logLevel: flags.logLevel });
  const logger = env.logger.child({ member: self.name });
  mkdirSync(join(flags.dataDir, 'member', 'db'), { recursive: true });
  const backend = LmdbBackend.open(join(flags.dataDir, 'member', 'db'));
  const store = MvccStore.open(backend, { maxTxnOps: flags.maxTxnOps });
  const applier = new Applier(store);
  const tickMs = flags.heartbeatIntervalMs;
  const node = new ServerNode<ApplyResult>(
    { ...env, logger },
    loneTransport(),
    {
      id: nodeIdFromBigInt(self.id),
      initialVoters: members.map((m) => nodeIdFromBigInt(m.id)),
      tickMs,
      electionTicks: Math.max(2, Math.round(flags.electionTimeoutMs / tickMs)),
      heartbeatTicks: 1,
      snapshotCount: flags.snapshotCount,
      catchUpEntries: 5000,
      maxInflightMsgs: 512,
      maxSizePerMsgBytes: 1024 * 1024,
    },
    applier,
    (error) => {
      logger.error('fatal error, stopping', { error: error instanceof Error ? error.stack ?? error.message : String(error) });
      process.exit(1);
    },
  );
  const kv = new KvApi(node, applier, env.clock, {
    memberId: self.id,
    clusterId,
    maxRequestBytes: flags.maxRequestBytes,
    quotaBackendBytes: flags.quotaBackendBytes,
    requestTimeoutMs: 5000 + 2 * flags.electionTimeoutMs,
    maxTxnOps: flags.maxTxnOps,
  });
  const memberIdOf = (id: string): bigint => BigInt('0x' + (id as NodeId));
  const maintenance = new MaintenanceApi(node, applier, self, () => members, memberIdOf);
  const grpc: GrpcServer = createGrpcServer(bindServices({ kv, maintenance }), { maxReceiveMessageBytes: flags.maxRequestBytes + 512 * 1024 });
  const clientPorts: number[] = [];
  for (const url of flags.listenClientUrls) clientPorts.push(await grpc.listen(url));
  // A single member elects itself at once rather than waiting out an election timeout.
  if (members.length === 1) node.campaign();
  logger.info('serving client requests', { urls: flags.listenClientUrls, memberId: self.id.toString(16), clusterId: clusterId.toString(16) });
  return {
    memberId: self.id,
    clusterId,
    clientPorts,
    async close() {
      await grpc.close();
      node.stop();
      backend.close();
    },
  };
}
