/**
 * PeerRequester (forwarded lease keep-alives): one kept HTTP/2 session per peer URL, dropped
 * and redialled when the peer goes away.
 */
import http2 from 'node:http2';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerRequester } from '../../src/grpc/index.js';

let server: Http2Server | undefined;
const sessions: ServerHttp2Session[] = [];

function listen(port = 0): Promise<number> {
  server = http2.createServer();
  server.on('session', (s) => sessions.push(s));
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ path: headers[':path'], got: JSON.parse(Buffer.concat(chunks).toString() || 'null') as unknown }));
    });
  });
  return new Promise((resolve) => server?.listen(port, '127.0.0.1', () => resolve((server?.address() as { port: number }).port)));
}

async function stop(): Promise<void> {
  for (const s of sessions.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
}

afterEach(stop);

describe('PeerRequester', () => {
  it('reuses one session for many requests and redials after the peer restarts', async () => {
    const port = await listen();
    const url = `http://127.0.0.1:${port}`;
    const peers = new PeerRequester();
    for (let i = 0; i < 5; i++) expect(await peers.request(url, '/leases', { id: String(i) }, 2000)).toEqual({ path: '/leases', got: { id: String(i) } });
    expect(sessions.length).toBe(1);

    await stop();
    await expect(peers.request(url, '/leases', { id: 'x' }, 2000)).rejects.toThrow();
    await listen(port);
    expect(await peers.request(url, '/leases/internal', { id: '7' }, 2000)).toEqual({ path: '/leases/internal', got: { id: '7' } });
    expect(sessions.length).toBe(1);
    peers.close();
  });
});
