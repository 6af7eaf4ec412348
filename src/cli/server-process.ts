import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Applier } from '../apply/index.js';
import type { ApplyResult } from '../apply/index.js';
import { ClusterApi, EtcdError, KvApi, MaintenanceApi, etcdError, LeaseApi, WatchApi } from '../api/index.js';
import { AuthApi, ElectionApi, LockApi } from '../api/index.js';
import { authSetup } from './auth-setup.js';
import type { MemberInfo } from '../api/index.js';
import { nodeEnv } from '../env/node/index.js';
import type { Logger } from '../env/index.js';
import { LmdbBackend } from '../mvcc/index.js';
import { MemberRegistry, MembershipMachine, ServerNode } from '../server/index.js';
import type { Member } from '../server/index.js';
import { GatewayMetrics, PeerTransport, bindServices, createClientFront, createGateway, createGrpcServer, createLeaseForwarder, instrumentServices, peerRequest, refuseOnLearner, serveLeaseRoutes } from '../grpc/index.js';
import type { ClientTls, GrpcServer } from '../grpc/index.js';
import { nodeId, nodeIdFromBigInt, nodeIdToBigInt } from '../util/index.js';
import type { ServerFlags } from './flags.js';
import { computeClusterId, computeMemberId } from './member-id.js';
import { resolveTls } from './tls-setup.js';

export interface RunningServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly clientPorts: readonly number[];
  readonly peerPorts: readonly number[];
  close(): Promise<void>;
}

export interface ServerHooks {
  /** Called once this member sees its own removal applied (default: close and exit 0, as etcd does). */
  readonly onRemoved?: () => void;
}

/** Who this member is; kept beside the data (never replicated: snapshots carry the member list, not this). */
interface Identity {
  readonly memberId: string;
  readonly clusterId: string;
}

/** The member list as served to joiners on GET /members of the peer listener. */
interface ClusterView {
  readonly clusterId: string;
  readonly members: readonly WireMember[];
  readonly founders: readonly WireMember[];
  readonly removed: readonly string[];
}

interface WireMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

const toWire = (m: Member): WireMember => ({ ...m, id: nodeIdFromBigInt(m.id), peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls] });
const fromWire = (m: WireMember): Member => ({ ...m, id: nodeIdToBigInt(nodeId(m.id)) });
const hex = (id: bigint): string => nodeIdFromBigInt(id);

const PUBLISH_RETRY_MS = 500;
const JOIN_ATTEMPTS = 40;

/**
 * Composes a real member: env/node + WAL + LMDB-backed MVCC + the replicated member list +
 * the Raft node loop + the HTTP/2 peer transport + the gRPC front door.
 */
export async function startServer(flags: ServerFlags, hooks: ServerHooks = {}): Promise<RunningServer> {
  const env = nodeEnv(flags.dataDir, { logLevel: flags.logLevel });
  const logger = env.logger.child({ member: flags.name });
  mkdirSync(join(flags.dataDir, 'member', 'db'), { recursive: true });
  const backend = LmdbBackend.open(join(flags.dataDir, 'member', 'db'), { asyncCommits: true });
  // Applied state commits to LMDB every 100 ms (etcd's backend batch interval), on lmdb-js's
  // writer thread; the WAL is the durable record and replays anything after the last commit, so
  // a write waits for one fsync (the WAL's) and the event loop for none of LMDB's.
  const authSeams = authSetup(flags);
  const applier = new Applier(backend, { clock: env.clock, maxTxnOps: flags.maxTxnOps, batchIntervalMs: 100, tokenProvider: authSeams.tokenProvider });
  const store = applier.store;
  const registry = new MemberRegistry(store);
  const tls = resolveTls(flags, logger);
  const identity = await loadIdentity(flags, registry, logger, tls.peer.client);
  const selfId = BigInt('0x' + identity.memberId);
  const clusterId = BigInt('0x' + identity.clusterId);

  let removedFromCluster = (): void => undefined;
  const transport = new PeerTransport({
    selfId: nodeIdFromBigInt(selfId),
    clusterId: identity.clusterId,
    peerUrls: (id) => registry.get(nodeIdToBigInt(id))?.peerUrls,
    isRemoved: (id) => registry.isRemoved(nodeIdToBigInt(id)),
    onRemovedByPeer: () => removedFromCluster(),
    logger: logger.child({ component: 'peer' }),
    tls: tls.peer,
  });
  const peerPorts: number[] = [];
  for (const url of flags.listenPeerUrls) peerPorts.push(await transport.listen(url));

  const tickMs = flags.heartbeatIntervalMs;
  const machine = new MembershipMachine<ApplyResult>(applier, registry, { ok: true, response: {} });
  const node = new ServerNode<ApplyResult>(
    { ...env, logger },
    transport,
    {
      id: nodeIdFromBigInt(selfId),
      initialVoters: registry.foundingMembers().filter((m) => !m.isLearner).map((m) => nodeIdFromBigInt(m.id)),
      tickMs,
      electionTicks: Math.max(2, Math.round(flags.electionTimeoutMs / tickMs)),
      heartbeatTicks: 1,
      snapshotCount: flags.snapshotCount,
      catchUpEntries: flags.snapshotCatchUpEntries,
      maxInflightMsgs: 512,
      maxSizePerMsgBytes: 1024 * 1024,
      bootstrapTerm: 1,
    },
    machine,
    (error) => {
      logger.error('fatal error, stopping', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );

  const requestTimeoutMs = 5000 + 2 * flags.electionTimeoutMs;
  const kv = new KvApi(node, applier, env.clock, {
    memberId: selfId,
    clusterId,
    maxRequestBytes: flags.maxRequestBytes,
    quotaBackendBytes: flags.quotaBackendBytes,
    requestTimeoutMs,
    maxTxnOps: flags.maxTxnOps,
  });
  const self: MemberInfo = {
    id: selfId,
    get name() {
      return registry.get(selfId)?.name ?? flags.name;
    },
    get peerUrls() {
      return registry.get(selfId)?.peerUrls ?? flags.initialAdvertisePeerUrls;
    },
    get clientUrls() {
      return registry.get(selfId)?.clientUrls ?? [];
    },
    get isLearner() {
      return registry.get(selfId)?.isLearner ?? false;
    },
  };
  const maintenance = new MaintenanceApi(node, applier, self, () => registry.list(), (id) => nodeIdToBigInt(nodeId(id)), { clock: env.clock, requestTimeoutMs });
  const cluster = new ClusterApi(node, registry, env.clock, {
    selfId,
    requestTimeoutMs,
    // etcd hashes the new member's peer URLs with the cluster token and the wall clock.
    newMemberId: (peerUrls) => computeMemberId(peerUrls, `${flags.initialClusterToken}${Date.now()}`),
    isPeerActive: (id) => transport.isActive(nodeIdFromBigInt(id)),
    forwardPromote: (leaderId, memberId) => forwardPromote(registry, leaderId, memberId, requestTimeoutMs, tls.peer.client),
  });
  servePeerRoutes(transport, registry, cluster, identity.clusterId);

  // Leases expire only on the leader (its lessor is primary) and are revoked through Raft;
  // watches are served from this member's own applied store.
  // Followers forward keep-alives and TTL queries to the leader over the peer listener, as etcd does.
  const forward = createLeaseForwarder((id) => registry.get(id)?.peerUrls[0], requestTimeoutMs, tls.peer.client);
  const lease = new LeaseApi(node, applier, env.clock, { memberId: selfId, electionTimeoutMs: flags.electionTimeoutMs, requestTimeoutMs, forward });
  serveLeaseRoutes(transport, lease);
  const watch = new WatchApi(applier, env.clock, { memberId: selfId, clusterId, raftTerm: () => node.observe().term });
  lease.start();
  watch.start();
  // Lock and Election are clients of this member's own KV, Watch and Lease services, as etcd's are.
  const lock = new LockApi({ kv, watch, lease });
  const election = new ElectionApi({ kv, watch, lease });
  // Users, roles and permissions: admin requests through Raft, bcrypt only at Authenticate.
  const auth = new AuthApi(node, applier, env.clock, { requestTimeoutMs, rand: env.rand.fork('auth'), hasher: authSeams.hasher });

  // Client port: gRPC and the HTTP/JSON gateway (/v3/*, /health, /version, /metrics) share it,
  // as on etcd; createClientFront sends each connection to one or the other (src/grpc/gateway-front.ts).
  const metrics = new GatewayMetrics();
  // A learner serves only Status and serializable Range, as etcd's interceptors allow.
  const bound = refuseOnLearner(bindServices({ kv, maintenance, cluster, lease, watch, lock, election, auth, memberId: selfId, clusterId }), () => self.isLearner);
  const services = instrumentServices(bound, metrics);
  const clientCertAuth = tls.client?.clientCertAuth === true;
  const grpc: GrpcServer = createGrpcServer(services, {
    maxReceiveMessageBytes: flags.maxRequestBytes + 512 * 1024,
    clientCertAuth,
  });
  const front = createClientFront(grpc, createGateway(services, { metrics, maxBodyBytes: flags.maxRequestBytes + 512 * 1024, clientCertAuth, isAuthEnabled: () => auth.isEnabled() }), tls.client === undefined ? {} : { tls: tls.client });
  const clientPorts: number[] = [];
  for (const url of flags.listenClientUrls) clientPorts.push(await front.listen(url));

  // A cluster of one elects itself at once rather than waiting out an election timeout.
  const voters = registry.list().filter((m) => !m.isLearner);
  if (voters.length === 1 && voters[0]?.id === selfId) node.campaign();

  let closed = false;
  let removed = false;
  // Applied our own removal, or a peer refused us as removed (we were down when it happened).
  removedFromCluster = () => {
    if (removed) return;
    removed = true;
    logger.warn('the member has been permanently removed from the cluster; shutting down');
    // Let the RPC that removed us answer first.
    setTimeout(() => (hooks.onRemoved ?? (() => void close().then(() => process.exit(0))))(), 500);
  };
  const publisher = publishUntilDone(cluster, flags, logger, () => closed);
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    lease.stop();
    watch.stop();
    await front.close();
    await grpc.close();
    node.stop();
    await transport.close();
    await publisher;
    applier.commitNow();
    await backend.settled().catch((error: unknown) => logger.error('backend commit failed', { error: String(error) }));
    backend.close();
  };
  registry.onChange((event) => {
    if (event.kind === 'removeNode' && event.id === selfId) removedFromCluster();
  });
  logger.info('serving client requests', {
    clientUrls: flags.listenClientUrls,
    peerUrls: flags.listenPeerUrls,
    memberId: hex(selfId),
    clusterId: hex(clusterId),
    members: registry.list().length,
  });
  return { memberId: selfId, clusterId, clientPorts, peerPorts, close };
}

/**
 * This member's id and its cluster's: from the data dir on a restart; computed from
 * --initial-cluster for a new cluster; fetched from a running member for `existing`.
 */
async function loadIdentity(flags: ServerFlags, registry: MemberRegistry, logger: Logger, peerTls: ClientTls): Promise<Identity> {
  const path = join(flags.dataDir, 'member', 'identity.json');
  if (existsSync(path)) {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as Identity;
    if (registry.isInitialized()) return stored;
  }
  let identity: Identity;
  if (flags.initialClusterState === 'new') {
    const founders: Member[] = [...flags.initialCluster].map(([name, peerUrls]) => ({
      id: computeMemberId(peerUrls, flags.initialClusterToken),
      name,
      peerUrls,
      clientUrls: [],
      isLearner: false,
    }));
    const self = founders.find((m) => m.name === flags.name) as Member;
    identity = { memberId: hex(self.id), clusterId: hex(computeClusterId(founders.map((m) => m.id))) };
    if (!registry.isInitialized()) registry.initialize(founders);
  } else {
    const view = await fetchClusterView(flags, logger, peerTls);
    const self = view.members.find((m) => m.peerUrls.some((u) => flags.initialAdvertisePeerUrls.includes(u)));
    if (self === undefined) {
      throw new Error(`member with peer URLs ${flags.initialAdvertisePeerUrls.join(',')} is not in the cluster's member list; add it with "etcdctl member add" first`);
    }
    identity = { memberId: self.id, clusterId: view.clusterId };
    if (!registry.isInitialized()) {
      registry.initialize(view.founders.map(fromWire), view.members.map(fromWire), view.removed.map((id) => nodeIdToBigInt(nodeId(id))));
    }
  }
  writeFileSync(path + '.tmp', JSON.stringify(identity));
  renameSync(path + '.tmp', path);
  return identity;
}

/** Asks the other --initial-cluster members for the member list, until one answers. */
async function fetchClusterView(flags: ServerFlags, logger: Logger, peerTls: ClientTls): Promise<ClusterView> {
  const own = new Set(flags.initialAdvertisePeerUrls);
  const urls = [...flags.initialCluster.values()].flat().filter((u) => !own.has(u));
  if (urls.length === 0) throw new Error('--initial-cluster-state existing needs other members in --initial-cluster');
  for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
    for (const url of urls) {
      try {
        return (await peerRequest(url, '/members', undefined, 2000, peerTls)) as ClusterView;
      } catch (error) {
        logger.warn('could not fetch the member list', { url, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`could not fetch the member list from ${urls.join(',')}`);
}

/** Peer HTTP routes besides Raft traffic: the member list for joiners, promotes forwarded to the leader. */
function servePeerRoutes(transport: PeerTransport, registry: MemberRegistry, cluster: ClusterApi, clusterId: string): void {
  transport.route('/members', () =>
    Promise.resolve({
      clusterId,
      members: registry.list().map(toWire),
      founders: registry.foundingMembers().map(toWire),
      removed: registry.removedIds().map(hex),
    } satisfies ClusterView),
  );
  transport.route('/members/promote', async (body) => {
    const id = nodeIdToBigInt(nodeId(String((body as { id?: unknown } | undefined)?.id ?? '')));
    try {
      await cluster.memberPromote(id);
      return { ok: true };
    } catch (error) {
      if (error instanceof EtcdError) return { error: { code: error.code, message: error.message } };
      throw error;
    }
  });
}

async function forwardPromote(registry: MemberRegistry, leaderId: bigint, memberId: bigint, timeoutMs: number, peerTls: ClientTls): Promise<void> {
  const url = registry.get(leaderId)?.peerUrls[0];
  if (url === undefined) throw etcdError('NoLeader');
  const answer = (await peerRequest(url, '/members/promote', { id: hex(memberId) }, timeoutMs, peerTls)) as { error?: { code: number; message: string } };
  if (answer.error) throw new EtcdError(answer.error.code as never, answer.error.message);
}

/** etcd publishes its name and client URLs through Raft once it has joined, retrying until it lands. */
async function publishUntilDone(cluster: ClusterApi, flags: ServerFlags, logger: Logger, stopped: () => boolean): Promise<void> {
  while (!stopped() && !cluster.isPublished(flags.name, flags.advertiseClientUrls)) {
    try {
      await cluster.publish(flags.name, flags.advertiseClientUrls);
      logger.info('published local member to cluster through raft', { name: flags.name, clientUrls: flags.advertiseClientUrls });
    } catch (error) {
      logger.debug('publish failed; retrying', { error: error instanceof Error ? error.message : String(error) });
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS));
    }
  }
}
