/**
 * Peer traffic between real members over HTTP/2 (node:http2) on --listen-peer-urls: cleartext
 * for http:// URLs, TLS for https:// ones (--peer-cert-file and friends, see PeerTls).
 *
 * - One long-lived POST /raft/stream per peer carries length-prefixed frames; each frame is the
 *   batch of messages this member sent that peer in one tick (flushed on setImmediate).
 * - A snapshot goes on its own POST /raft/snapshot, written in chunks with backpressure, so a
 *   large snapshot neither blocks nor bloats the message stream.
 * - send() never blocks the node loop: while a peer is down, or its stream has too much
 *   unsent data, messages are dropped (Raft retries). Reconnects back off exponentially.
 * - The receiver checks the cluster id and the addressee in the headers and every decoded
 *   message; garbage closes the stream with a log line and never reaches Raft.
 * - GET/POST JSON routes (member list for joiners, forwarded requests) share the listener.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, Http2Server, ServerHttp2Session, ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { Logger, Transport } from '../env/index.js';
import type { Message } from '../raft/index.js';
import type { NodeId } from '../util/index.js';
import { FrameParser, PeerCodecError, checkMessage, decodeBatch, encodeBatch, encodeFrame } from './peer-codec.js';
import { clientTlsOptions, isTlsUrl, serverTlsOptions } from './tls.js';
import type { ClientTls, ServerTls } from './tls.js';

/**
 * Peer TLS, as etcd's --peer-* flags: a member serves https:// peer URLs with `server` and
 * dials https:// peers with `client` (its own certificate as the client certificate, the peer
 * CA to verify the other side; auto-tls skips the verification of self-signed peers).
 */
export interface PeerTls {
  readonly server?: ServerTls;
  readonly client: ClientTls;
}

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  /** The cluster id as 16 hex digits; streams from another cluster are refused. */
  readonly clusterId: string;
  /** A member's peer URLs (from the replicated member list); undefined for unknown members. */
  readonly peerUrls: (id: NodeId) => readonly string[] | undefined;
  readonly logger: Logger;
  /** Unsent bytes on one peer's stream before messages to it are dropped. */
  readonly maxQueuedBytes?: number;
  readonly maxFrameBytes?: number;
  readonly maxSnapshotBytes?: number;
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  /** Members removed from the cluster: their streams are refused (410), as etcd does. */
  readonly isRemoved?: (id: NodeId) => boolean;
  /** Called when a peer answers 410: this member was removed from the cluster. */
  readonly onRemovedByPeer?: () => void;
  /** Called when a message to `id` is dropped (the node may report the peer unreachable). */
  readonly onDrop?: (id: NodeId, message: Message) => void;
  /** Needed to listen on or dial https:// peer URLs. */
  readonly tls?: PeerTls;
}

export type JsonRoute = (body: unknown) => Promise<unknown>;

export interface PeerStats {
  sentMessages: number;
  sentFrames: number;
  droppedMessages: number;
  receivedMessages: number;
  rejectedStreams: number;
  snapshotsSent: number;
  snapshotsReceived: number;
}

const H_CLUSTER = 'x-tsetcd-cluster-id';
const H_FROM = 'x-tsetcd-from';
const H_TO = 'x-tsetcd-to';
const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

interface Link {
  url: string;
  session: ClientHttp2Session | undefined;
  stream: ClientHttp2Stream | undefined;
  pending: Message[];
  /** The peer answered 200 on the current stream. */
  up: boolean;
  nextAttemptMs: number;
  backoffMs: number;
}

export class PeerTransport implements Transport<Message> {
  private handler: ((from: NodeId, message: Message) => void) | undefined;
  private readonly links = new Map<NodeId, Link>();
  private readonly routes = new Map<string, JsonRoute>();
  private readonly servers: Http2Server[] = [];
  private readonly inbound = new Set<ServerHttp2Stream>();
  private readonly serverSessions = new Set<ServerHttp2Session>();
  /** Open inbound message streams per sending member. */
  private readonly inboundFrom = new Map<string, number>();
  private flushScheduled = false;
  private closed = false;
  private clusterId: string;
  readonly stats: PeerStats = { sentMessages: 0, sentFrames: 0, droppedMessages: 0, receivedMessages: 0, rejectedStreams: 0, snapshotsSent: 0, snapshotsReceived: 0 };

  constructor(private readonly options: PeerTransportOptions) {
    this.clusterId = options.clusterId;
  }

  /** A joiner learns the cluster id from a peer after the transport exists. */
  setClusterId(clusterId: string): void {
    this.clusterId = clusterId;
  }

  onReceive(handler: (from: NodeId, message: Message) => void): void {
    this.handler = handler;
  }

  /** Serves GET (body undefined) or POST (JSON body) on `path`; the result is answered as JSON. */
  route(path: string, handler: JsonRoute): void {
    this.routes.set(path, handler);
  }

  send(to: NodeId, message: Message): void {
    if (this.closed || to === this.options.selfId) return;
    if (message.type === 'snap') {
      void this.sendSnapshot(to, message);
      return;
    }
    const link = this.link(to);
    if (link === undefined) {
      this.drop(to, message);
      return;
    }
    link.pending.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** True while a message stream to or from `id` is established (etcd's "active" peer). */
  isActive(id: NodeId): boolean {
    return this.links.get(id)?.up === true || (this.inboundFrom.get(id) ?? 0) > 0;
  }

  private drop(to: NodeId, message: Message): void {
    this.stats.droppedMessages++;
    this.options.onDrop?.(to, message);
  }

  private link(to: NodeId): Link | undefined {
    const url = this.options.peerUrls(to)?.[0];
    if (url === undefined) return undefined;
    let link = this.links.get(to);
    if (link && link.url !== url) {
      this.teardown(link, false);
      this.links.delete(to);
      link = undefined;
    }
    if (!link) {
      link = { url, session: undefined, stream: undefined, pending: [], up: false, nextAttemptMs: 0, backoffMs: this.options.backoffMsMin ?? 50 };
      this.links.set(to, link);
    }
    return link;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const maxQueued = this.options.maxQueuedBytes ?? 8 * 1024 * 1024;
    for (const [to, link] of this.links) {
      if (link.pending.length === 0) continue;
      const batch = link.pending;
      link.pending = [];
      const stream = this.streamTo(to, link);
      if (stream === undefined || stream.writableLength > maxQueued) {
        for (const m of batch) this.drop(to, m);
        continue;
      }
      stream.write(encodeFrame(batch));
      this.stats.sentFrames++;
      this.stats.sentMessages += batch.length;
    }
  }

  /** The open stream to a peer, opening one unless the peer is in its backoff window. */
  private streamTo(to: NodeId, link: Link): ClientHttp2Stream | undefined {
    if (link.stream && !link.stream.destroyed) return link.stream;
    if (Date.now() < link.nextAttemptMs) return undefined;
    const session = this.session(link);
    const stream = session.request(
      { ':method': 'POST', ':path': '/raft/stream', [H_CLUSTER]: this.clusterId, [H_FROM]: this.options.selfId, [H_TO]: to },
      { endStream: false },
    );
    link.stream = stream;
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) {
        link.up = true;
        link.backoffMs = this.options.backoffMsMin ?? 50;
        this.options.logger.info('peer stream established', { peer: to, url: link.url });
      } else {
        this.options.logger.warn('peer refused the stream', { peer: to, status });
        if (status === 410) this.options.onRemovedByPeer?.();
        failIfCurrent();
      }
    });
    const failIfCurrent = (): void => {
      if (link.stream === stream) this.fail(link);
    };
    stream.on('error', failIfCurrent);
    stream.on('close', failIfCurrent);
    stream.resume(); // the peer sends nothing back on this stream; never stall on it
    return stream;
  }

  private session(link: Link): ClientHttp2Session {
    if (link.session && !link.session.destroyed && !link.session.closed) return link.session;
    const session = connectPeer(link.url, this.options.tls?.client);
    const failIfCurrent = (): void => {
      if (link.session === session) this.fail(link);
    };
    session.on('error', failIfCurrent);
    session.on('close', failIfCurrent);
    session.on('goaway', failIfCurrent);
    link.session = session;
    return session;
  }

  /** Drops the connection and waits out the backoff before the next attempt. */
  private fail(link: Link): void {
    const wasUp = link.up;
    this.teardown(link, true);
    if (wasUp) this.options.logger.warn('peer stream lost', { url: link.url });
    link.nextAttemptMs = Date.now() + link.backoffMs;
    link.backoffMs = Math.min(link.backoffMs * 2, this.options.backoffMsMax ?? 1000);
  }

  private teardown(link: Link, keepLink: boolean): void {
    link.up = false;
    const { stream, session } = link;
    link.stream = undefined;
    link.session = undefined;
    if (stream && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    if (session && !session.destroyed) session.destroy();
    if (!keepLink) link.pending = [];
  }

  /** A snapshot on its own request, written in chunks as the peer's window allows. */
  private async sendSnapshot(to: NodeId, message: Message): Promise<void> {
    const url = this.options.peerUrls(to)?.[0];
    if (url === undefined) return this.drop(to, message);
    const body = encodeBatch([message]);
    const session = connectPeer(url, this.options.tls?.client);
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/raft/snapshot', [H_CLUSTER]: this.clusterId, [H_FROM]: this.options.selfId, [H_TO]: to });
      const answered = new Promise<number>((resolve, reject) => {
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.on('close', () => reject(new Error('snapshot stream closed')));
      });
      for (let at = 0; at < body.length; at += SNAPSHOT_CHUNK_BYTES) {
        if (!stream.write(body.subarray(at, at + SNAPSHOT_CHUNK_BYTES))) {
          await new Promise<void>((resolve, reject) => {
            stream.once('drain', resolve);
            stream.once('close', () => reject(new Error('snapshot stream closed')));
          });
        }
      }
      stream.end();
      const status = await answered;
      if (status !== 200) throw new Error(`peer answered ${status}`);
      this.stats.snapshotsSent++;
      this.options.logger.info('snapshot sent', { peer: to, bytes: body.length, index: message.snapshot?.meta.index });
    } catch (error) {
      this.options.logger.warn('snapshot send failed', { peer: to, error: error instanceof Error ? error.message : String(error) });
      this.drop(to, message);
    } finally {
      session.close();
    }
  }

  // ---- receiving ------------------------------------------------------------------------------

  /** Listens on a peer URL (http[s]://host:port); resolves with the bound port. */
  listen(url: string): Promise<number> {
    const { hostname, port } = new URL(url);
    let server: Http2Server;
    try {
      server = this.createServer(url);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    server.on('session', (session) => {
      this.serverSessions.add(session);
      session.on('close', () => this.serverSessions.delete(session));
    });
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    server.on('sessionError', () => undefined);
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(port), hostname.replace(/^\[|\]$/g, ''), () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : Number(port));
      });
    });
  }

  private createServer(url: string): Http2Server {
    if (!isTlsUrl(url)) return http2.createServer();
    const tls = this.options.tls?.server;
    if (tls === undefined) throw new Error(`TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url ${url} with HTTPS scheme`);
    const server = http2.createSecureServer(serverTlsOptions(tls, ['h2']));
    // A refused handshake (no or an untrusted certificate under --peer-client-cert-auth) ends only that connection.
    server.on('tlsClientError', (error, socket) => {
      this.options.logger.warn('peer TLS handshake refused', { from: socket.remoteAddress, error: error.message });
      socket.destroy();
    });
    return server as unknown as Http2Server;
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const path = headers[':path'] ?? '';
    if (path === '/raft/stream' || path === '/raft/snapshot') {
      const refusal = this.refusal(headers);
      if (refusal !== undefined) {
        this.reject(stream, 412, refusal, headers);
        return;
      }
      const from = String(headers[H_FROM] ?? '');
      if (from !== '' && this.options.isRemoved?.(from as NodeId) === true) {
        this.reject(stream, 410, 'the sender was removed from the cluster', headers);
        return;
      }
      if (path === '/raft/stream') this.serveMessageStream(stream, String(headers[H_FROM] ?? ''));
      else this.serveSnapshot(stream);
      return;
    }
    const route = this.routes.get(path);
    if (route === undefined) {
      this.reject(stream, 404, 'no such peer route', headers);
      return;
    }
    void this.serveJson(stream, headers, route);
  }

  private refusal(headers: IncomingHttpHeaders): string | undefined {
    if (headers[H_CLUSTER] !== this.clusterId) return `cluster id mismatch (got ${String(headers[H_CLUSTER])}, want ${this.clusterId})`;
    if (headers[H_TO] !== this.options.selfId) return `stream addressed to ${String(headers[H_TO])}, not to this member`;
    return undefined;
  }

  private reject(stream: ServerHttp2Stream, status: number, why: string, headers: IncomingHttpHeaders): void {
    this.stats.rejectedStreams++;
    this.options.logger.warn('peer request rejected', { why, path: headers[':path'], from: headers[H_FROM] });
    if (!stream.headersSent && !stream.destroyed) stream.respond({ ':status': status }, { endStream: true });
    stream.close();
  }

  private serveMessageStream(stream: ServerHttp2Stream, from: string): void {
    this.inbound.add(stream);
    this.inboundFrom.set(from, (this.inboundFrom.get(from) ?? 0) + 1);
    stream.on('close', () => {
      this.inbound.delete(stream);
      this.inboundFrom.set(from, (this.inboundFrom.get(from) ?? 1) - 1);
    });
    stream.respond({ ':status': 200 });
    const parser = new FrameParser(this.options.maxFrameBytes ?? 64 * 1024 * 1024);
    stream.on('data', (chunk: Buffer) => {
      if (stream.destroyed) return;
      try {
        for (const payload of parser.push(chunk)) this.deliver(decodeBatch(payload));
      } catch (error) {
        this.garbage(stream, error);
      }
    });
  }

  private serveSnapshot(stream: ServerHttp2Stream): void {
    const maxBytes = this.options.maxSnapshotBytes ?? 1024 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) this.garbage(stream, new PeerCodecError(`snapshot larger than ${maxBytes} bytes`));
      else chunks.push(chunk);
    });
    stream.on('end', () => {
      if (stream.destroyed) return;
      try {
        const messages = decodeBatch(Buffer.concat(chunks));
        if (messages.length !== 1 || messages[0]?.type !== 'snap') throw new PeerCodecError('snapshot request without exactly one snap message');
        this.deliver(messages);
        this.stats.snapshotsReceived++;
        this.options.logger.info('snapshot received', { from: messages[0].from, index: messages[0].snapshot?.meta.index, bytes: total });
        stream.respond({ ':status': 200 }, { endStream: true });
      } catch (error) {
        this.garbage(stream, error);
      }
    });
  }

  private deliver(messages: readonly Message[]): void {
    for (const m of messages) checkMessage(m, this.options.selfId);
    for (const m of messages) {
      this.stats.receivedMessages++;
      this.handler?.(m.from, m);
    }
  }

  private garbage(stream: ServerHttp2Stream, error: unknown): void {
    this.stats.rejectedStreams++;
    const why = error instanceof PeerCodecError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.options.logger.warn('closing peer stream: undecodable or invalid data', { why });
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
  }

  private async serveJson(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, route: JsonRoute): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    let status = 200;
    let answer: unknown;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      answer = await route(headers[':method'] === 'GET' || text === '' ? undefined : (JSON.parse(text) as unknown));
    } catch (error) {
      status = 500;
      answer = { error: error instanceof Error ? error.message : String(error) };
    }
    if (stream.destroyed) return;
    stream.respond({ ':status': status, 'content-type': 'application/json' });
    stream.end(JSON.stringify(answer, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) this.teardown(link, false);
    for (const stream of this.inbound) stream.close(http2.constants.NGHTTP2_CANCEL);
    // server.close() waits for every session to end; peers would keep theirs open.
    for (const session of this.serverSessions) session.destroy();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
          }),
      ),
    );
  }
}

/** An HTTP/2 session to a peer: TLS for an https:// URL (default roots when `tls` is undefined). */
function connectPeer(url: string, tls: ClientTls | undefined): ClientHttp2Session {
  return isTlsUrl(url) ? http2.connect(url, clientTlsOptions(tls ?? {})) : http2.connect(url);
}

/**
 * A JSON request to a peer's route (GET without a body); rejects on a non-200 answer or after
 * `timeoutMs`. `tls` is used for https:// URLs.
 */
export async function peerRequest(url: string, path: string, body: unknown, timeoutMs: number, tls?: ClientTls): Promise<unknown> {
  const session = connectPeer(url, tls);
  session.on('error', () => undefined);
  try {
    return await requestOn(session, url, path, body, timeoutMs);
  } finally {
    session.destroy();
  }
}

/** One JSON request on an open session; rejects on a non-200 answer, a session error or after `timeoutMs`. */
function requestOn(session: ClientHttp2Session, url: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer ${url}${path} timed out`)), timeoutMs);
    const onSessionError = (error: unknown): void => {
      clearTimeout(timer);
      reject(error);
    };
    session.once('error', onSessionError);
    const settle = (): void => {
      clearTimeout(timer);
      session.off('error', onSessionError);
    };
    const stream = session.request(
      body === undefined ? { ':method': 'GET', ':path': path } : { ':method': 'POST', ':path': path, 'content-type': 'application/json' },
      { endStream: body === undefined },
    );
    if (body !== undefined) stream.end(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (error) => {
      settle();
      reject(error);
    });
    stream.on('close', () => {
      settle();
      reject(new Error(`peer ${url}${path} closed the stream`));
    });
    stream.on('end', () => {
      settle();
      const text = Buffer.concat(chunks).toString('utf8');
      if (status !== 200) reject(new Error(`peer ${url}${path} answered ${status}: ${text}`));
      else resolve(text === '' ? undefined : (JSON.parse(text) as unknown));
    });
  });
}

/**
 * JSON requests to peers over one kept HTTP/2 session per peer URL, for routes called often
 * (forwarded lease keep-alives): no connection set-up per request. A session that errs, closes
 * or lets a request time out is dropped, and the next request dials again.
 */
export class PeerRequester {
  private readonly sessions = new Map<string, ClientHttp2Session>();

  constructor(private readonly tls?: ClientTls) {}

  async request(url: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const session = this.session(url);
    try {
      return await requestOn(session, url, path, body, timeoutMs);
    } catch (error) {
      this.drop(url, session);
      throw error;
    }
  }

  close(): void {
    for (const [url, session] of this.sessions) this.drop(url, session);
  }

  private session(url: string): ClientHttp2Session {
    const open = this.sessions.get(url);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const session = connectPeer(url, this.tls);
    session.on('error', () => this.drop(url, session));
    session.on('close', () => this.drop(url, session));
    session.on('goaway', () => this.drop(url, session));
    // An idle cached session must not keep the process alive.
    session.unref();
    this.sessions.set(url, session);
    return session;
  }

  private drop(url: string, session: ClientHttp2Session): void {
    if (this.sessions.get(url) === session) this.sessions.delete(url);
    if (!session.destroyed) session.destroy();
  }
}
