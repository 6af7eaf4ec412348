/**
 * The Lease and Watch services bound to the transport-free API: protobuf <-> API types, etcd
 * errors as gRPC statuses, and stream plumbing (keep-alive and watch are bidirectional streams;
 * watch responses are acknowledged to the hub only once the transport took them, so a slow
 * client moves its watchers to the catch-up path instead of buffering without bound).
 */
import { EtcdError } from '../api/index.js';
import type { AuthApi, LeaseApi, WatchApi } from '../api/index.js';
import type { WatchRequest as HubWatchRequest, WatchResponse as HubWatchResponse } from '../watch/index.js';
import type * as pb from './generated/etcdserverpb.js';
import type { EventInit } from './generated/mvccpb.js';
import { fromKv } from './convert-kv.js';
import { encodeHubWatchResponse } from './watch-encode.js';
import type { EtcdServices, GrpcStatusError } from './services.js';
import { credentialOf } from './adapter-auth.js';

type LeaseWatchServices = Pick<EtcdServices, 'leaseGrant' | 'leaseRevoke' | 'leaseKeepAlive' | 'leaseTimeToLive' | 'leaseLeases' | 'watch'>;

function asStatus(error: unknown): unknown {
  if (error instanceof EtcdError) return { grpcCode: error.code, message: error.message } satisfies GrpcStatusError;
  return error;
}

async function call<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asStatus(error);
  }
}

function toHubRequest(r: pb.WatchRequest): HubWatchRequest | undefined {
  const u = r.requestUnion;
  if (u === undefined) return undefined;
  if (u.case === 'createRequest') {
    const c = u.value;
    return {
      createRequest: {
        key: c.key,
        ...(c.rangeEnd.length > 0 ? { rangeEnd: c.rangeEnd } : {}),
        startRevision: Number(c.startRevision),
        progressNotify: c.progressNotify,
        filters: c.filters as Array<0 | 1>,
        prevKv: c.prevKv,
        watchId: Number(c.watchId),
        fragment: c.fragment,
      },
    };
  }
  if (u.case === 'cancelRequest') return { cancelRequest: { watchId: Number(u.value.watchId) } };
  return { progressRequest: {} };
}

function fromHubResponse(r: HubWatchResponse): pb.WatchResponseInit {
  const events: EventInit[] = r.events.map((e) => (e.prevKv ? { type: e.type, kv: fromKv(e.kv), prevKv: fromKv(e.prevKv) } : { type: e.type, kv: fromKv(e.kv) }));
  return {
    header: { clusterId: r.header.clusterId, memberId: r.header.memberId, revision: BigInt(r.header.revision), raftTerm: BigInt(r.header.raftTerm) },
    watchId: BigInt(r.watchId),
    created: r.created,
    canceled: r.canceled,
    compactRevision: BigInt(r.compactRevision),
    cancelReason: r.cancelReason,
    fragment: r.fragment,
    events,
  };
}

export function bindLeaseAndWatch(lease: LeaseApi | undefined, watch: WatchApi | undefined, header: () => pb.ResponseHeaderInit, auth?: AuthApi): Partial<LeaseWatchServices> {
  const out: Partial<LeaseWatchServices> = {};
  if (lease) {
    out.leaseGrant = (r) => call(async () => {
      const g = await lease.grant(Number(r.TTL), r.ID);
      return { header: { ...header(), revision: BigInt(g.revision) }, ID: g.id, TTL: BigInt(g.ttlSeconds) };
    });
    out.leaseRevoke = (r, ctx) => call(async () => {
      // With auth wired in, the revoke carries the caller's header: WRITE on every attached key is checked at apply.
      const res = auth === undefined ? await lease.revoke(r.ID) : await auth.leaseRevoke(credentialOf(auth, ctx), r.ID);
      return { header: { ...header(), revision: BigInt(res.revision) } };
    });
    out.leaseTimeToLive = (r) => call(async () => {
      const t = await lease.timeToLiveAtLeader(r.ID, r.keys);
      return { header: header(), ID: t.id, TTL: BigInt(t.ttlSeconds), grantedTTL: BigInt(t.grantedTtlSeconds), keys: [...t.keys] };
    });
    out.leaseLeases = () => call(() => ({ header: header(), leases: lease.leases().map((id) => ({ ID: id })) }));
    out.leaseKeepAlive = async (stream) => {
      for await (const request of stream) {
        try {
          const r = await lease.keepAlive(request.ID);
          await stream.send({ header: header(), ID: r.id, TTL: BigInt(r.ttlSeconds) });
        } catch (error) {
          // etcd answers an unknown lease with TTL 0 on the stream; other errors end the call.
          if (error instanceof EtcdError && error.message === 'etcdserver: requested lease not found') {
            await stream.send({ header: header(), ID: request.ID, TTL: 0n });
            continue;
          }
          throw asStatus(error);
        }
      }
    };
  }
  if (watch) {
    out.watch = async (stream, ctx) => {
      const credential = auth === undefined ? undefined : () => credentialOf(auth, ctx);
      const session = watch.open((response) => {
        // Pre-encoded where the sink takes bytes: event bytes are shared by every watcher of the revision (watch-encode.ts).
        const out = stream.preEncoded === true ? (encodeHubWatchResponse(response) as unknown as pb.WatchResponseInit) : fromHubResponse(response);
        stream.send(out).then(
          () => session.ack(1),
          () => undefined, // the call ended; close() below cleans up
        );
      }, credential);
      try {
        for await (const request of stream) {
          const hubRequest = toHubRequest(request);
          if (hubRequest) session.handle(hubRequest);
        }
      } finally {
        session.close();
      }
    };
  }
  return out;
}
