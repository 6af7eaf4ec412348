/**
 * Forwarded lease keep-alives: a follower sends the renewals of one tick to the leader as one
 * request, and every renewal still gets its own answer (an unknown lease fails alone).
 */
import http2 from 'node:http2';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { etcdError } from '../../src/api/index.js';
import type { LeaseApi } from '../../src/api/index.js';
import { createLeaseForwarder, LEASE_RENEW_BATCH_PATH, LEASE_RENEW_PATH, serveLeaseRoutes } from '../../src/grpc/index.js';
import type { PeerTransport } from '../../src/grpc/index.js';

const UNKNOWN_LEASE = 13n;

/** The leader's routes over a fake lessor that knows every lease but 13 (its TTL is its id). */
function leaderRoutes(): Map<string, (body: unknown) => Promise<unknown>> {
  const routes = new Map<string, (body: unknown) => Promise<unknown>>();
  const transport = { route: (path: string, handler: (body: unknown) => Promise<unknown>) => routes.set(path, handler) } as unknown as PeerTransport;
  const lease = {
    keepAliveHere: async (id: bigint) => {
      if (id === UNKNOWN_LEASE) throw etcdError('LeaseNotFound');
      return { id, ttlSeconds: Number(id) };
    },
    timeToLiveHere: async () => {
      throw new Error('not used');
    },
  } as unknown as LeaseApi;
  serveLeaseRoutes(transport, lease);
  return routes;
}

let server: Http2Server | undefined;
const sessions: ServerHttp2Session[] = [];

afterEach(async () => {
  // The forwarder keeps its session to the leader open: end it from this side.
  for (const session of sessions.splice(0)) session.destroy();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** A leader's peer listener serving the routes, counting requests per path. */
function listen(routes: Map<string, (body: unknown) => Promise<unknown>>, requests: string[]): Promise<number> {
  server = http2.createServer();
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const path = String(headers[':path']);
      requests.push(path);
      void (routes.get(path) as (body: unknown) => Promise<unknown>)(JSON.parse(Buffer.concat(chunks).toString()) as unknown).then((answer) => {
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end(JSON.stringify(answer));
      });
    });
  });
  return new Promise((resolve) => server?.listen(0, '127.0.0.1', () => resolve((server?.address() as { port: number }).port)));
}

describe('forwarded lease keep-alives', () => {
  it('the leader answers a batch id by id, and the single-id route still works', async () => {
    const routes = leaderRoutes();
    const batch = routes.get(LEASE_RENEW_BATCH_PATH) as (body: unknown) => Promise<unknown>;
    expect(await batch({ ids: ['5', '13', '7'] })).toEqual([{ ok: 5 }, { error: { code: 5, message: 'etcdserver: requested lease not found' } }, { ok: 7 }]);
    expect(await (routes.get(LEASE_RENEW_PATH) as (body: unknown) => Promise<unknown>)({ id: '9' })).toEqual({ ok: 9 });
  });

  it("a follower sends one tick's renewals as one request and settles each on its own", async () => {
    const requests: string[] = [];
    const port = await listen(leaderRoutes(), requests);
    const leaderId = 1n;
    const forward = createLeaseForwarder((id) => (id === leaderId ? `http://127.0.0.1:${port}` : undefined), 2000);
    const ids = [3n, 4n, UNKNOWN_LEASE, 20n, 21n];
    const outcomes = await Promise.allSettled(ids.map((id) => forward.keepAlive(leaderId, id)));
    expect(requests).toEqual([LEASE_RENEW_BATCH_PATH]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([3, 4, 'etcdserver: requested lease not found', 20, 21]);
    // The next tick's renewals go in the next request.
    expect(await forward.keepAlive(leaderId, 8n)).toBe(8);
    expect(requests).toEqual([LEASE_RENEW_BATCH_PATH, LEASE_RENEW_BATCH_PATH]);
  });
});
