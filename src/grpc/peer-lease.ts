/**
 * Lease requests a follower forwards to the leader over the peer listener, as etcd forwards
 * LeaseKeepAlive (POST /leases) and LeaseTimeToLive (POST /leases/internal): renewals never go
 * through Raft and only the leader's lessor knows when a lease expires. LeaseLeases is answered
 * by each member from its own applied state, as on etcd.
 */
import { EtcdError } from '../api/index.js';
import type { LeaseApi, LeaseForwarder, TimeToLiveResult } from '../api/index.js';
import { PeerRequester } from './peer-transport.js';
import type { ClientTls } from './tls.js';
import type { PeerTransport } from './peer-transport.js';

export const LEASE_RENEW_PATH = '/leases';
export const LEASE_TTL_PATH = '/leases/internal';
/**
 * Keep-alives a follower received in one tick, renewed with one request: with a hundred
 * clients keeping leases alive through a follower, one POST per renewal cost the follower and
 * the leader more CPU than the renewals themselves. Each id is answered on its own.
 */
export const LEASE_RENEW_BATCH_PATH = '/leases/batch';

type Answer<T> = { readonly ok: T } | { readonly error: { readonly code: number; readonly message: string } };

interface WireTimeToLive {
  readonly id: string;
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  /** base64 */
  readonly keys: readonly string[];
}

async function answer<T>(work: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: await work() };
  } catch (error) {
    // etcd errors travel as data; anything else becomes a 500 and the follower retries.
    if (error instanceof EtcdError) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}

function requestedId(body: unknown): bigint {
  const id = (body as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || !/^-?\d+$/.test(id)) throw new Error('lease request without a decimal id');
  return BigInt(id);
}

/** The leader's side: serves forwarded keep-alives and TTL queries from this member's lessor only. */
export function serveLeaseRoutes(transport: PeerTransport, lease: LeaseApi): void {
  const renew = (id: bigint): Promise<Answer<number>> => answer(async () => (await lease.keepAliveHere(id)).ttlSeconds);
  transport.route(LEASE_RENEW_PATH, (body) => renew(requestedId(body)));
  transport.route(LEASE_RENEW_BATCH_PATH, async (body) => {
    const ids = (body as { ids?: unknown } | undefined)?.ids;
    if (!Array.isArray(ids)) throw new Error('batched lease renewal without ids');
    return Promise.all(ids.map((id: unknown) => renew(requestedId({ id }))));
  });
  transport.route(LEASE_TTL_PATH, (body) =>
    answer(async () => {
      const withKeys = (body as { keys?: unknown }).keys === true;
      const t = await lease.timeToLiveHere(requestedId(body), withKeys);
      return {
        id: t.id.toString(),
        ttlSeconds: t.ttlSeconds,
        grantedTtlSeconds: t.grantedTtlSeconds,
        keys: t.keys.map((k) => Buffer.from(k).toString('base64')),
      } satisfies WireTimeToLive;
    }),
  );
}

function unwrap<T>(raw: unknown): T {
  const a = raw as Answer<T>;
  if ('error' in a) throw new EtcdError(a.error.code as never, a.error.message);
  return a.ok;
}

/**
 * The follower's side: `peerUrlOf` maps a member id to its first peer URL (undefined if unknown);
 * `tls` dials https:// peer URLs (peer TLS).
 */
export function createLeaseForwarder(peerUrlOf: (memberId: bigint) => string | undefined, timeoutMs: number, tls?: ClientTls): LeaseForwarder {
  const urlOf = (leaderId: bigint): string => {
    const url = peerUrlOf(leaderId);
    if (url === undefined) throw new Error(`no peer URL for leader ${leaderId.toString(16)}`);
    return url;
  };
  // One kept session per leader: keep-alives arrive every few seconds per lease.
  const peers = new PeerRequester(tls);
  const batches = new RenewalBatches((leaderId, ids) =>
    peers.request(urlOf(leaderId), LEASE_RENEW_BATCH_PATH, { ids: ids.map((id) => id.toString()) }, timeoutMs),
  );
  return {
    keepAlive: (leaderId, id) => batches.renew(leaderId, id),
    async timeToLive(leaderId, id, withKeys): Promise<TimeToLiveResult> {
      const t = unwrap<WireTimeToLive>(await peers.request(urlOf(leaderId), LEASE_TTL_PATH, { id: id.toString(), keys: withKeys }, timeoutMs));
      return { id: BigInt(t.id), ttlSeconds: t.ttlSeconds, grantedTtlSeconds: t.grantedTtlSeconds, keys: t.keys.map((k) => new Uint8Array(Buffer.from(k, 'base64'))) };
    },
  };
}

interface PendingRenewal {
  readonly id: bigint;
  readonly resolve: (ttlSeconds: number) => void;
  readonly reject: (error: unknown) => void;
}

/** Collects the keep-alives of one tick per leader and sends each leader's as one request. */
class RenewalBatches {
  private readonly pending = new Map<bigint, PendingRenewal[]>();
  private scheduled = false;

  constructor(private readonly send: (leaderId: bigint, ids: readonly bigint[]) => Promise<unknown>) {}

  renew(leaderId: bigint, id: bigint): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let batch = this.pending.get(leaderId);
      if (batch === undefined) {
        batch = [];
        this.pending.set(leaderId, batch);
      }
      batch.push({ id, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    for (const [leaderId, batch] of this.pending) {
      this.send(leaderId, batch.map((r) => r.id)).then(
        (raw) => settleEach(batch, raw),
        (error: unknown) => {
          for (const r of batch) r.reject(error);
        },
      );
    }
    this.pending.clear();
  }
}

/** Each renewal gets its own answer: one unknown lease does not fail the others. */
function settleEach(batch: readonly PendingRenewal[], raw: unknown): void {
  const answers = raw as readonly Answer<number>[];
  if (!Array.isArray(answers) || answers.length !== batch.length) {
    const error = new Error(`batched lease renewal answered ${Array.isArray(answers) ? answers.length : 'no'} results for ${batch.length} ids`);
    for (const r of batch) r.reject(error);
    return;
  }
  batch.forEach((r, i) => {
    try {
      r.resolve(unwrap<number>(answers[i]));
    } catch (error) {
      r.reject(error);
    }
  });
}
