/**
 * One client port for gRPC and the HTTP/JSON gateway, as etcd serves both on 2379 (it uses
 * cmux). Each accepted connection is sniffed: a connection that opens with the HTTP/2 client
 * preface ("PRI * HTTP/2.0") is handed to grpc-js through its connection injector; anything
 * else is HTTP/1.x and goes to a node:http server running the gateway. gRPC clients always
 * speak h2c with prior knowledge, so the split is exact for them; an HTTP/2 request to the
 * gateway paths (curl --http2-prior-knowledge) would reach grpc-js and be refused: use HTTP/1.1.
 *
 * On an https:// (or unixs:) URL the same happens inside TLS: node:tls terminates the
 * connection (with --client-cert-auth it refuses a client without a certificate signed by the
 * trusted CA during the handshake) and the decrypted stream is sniffed the same way. The
 * TLSSocket is what grpc-js and node:http then see, so both can read the verified client
 * certificate (CallContext.certCommonName).
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { parseListenUrl } from './server.js';
import { isTlsUrl, serverTlsOptions, withoutTlsScheme } from './tls.js';
import type { ServerTls } from './tls.js';

export interface ClientFrontOptions {
  /**
   * Serves https:// (and unixs:) URLs: TLS is terminated first, then the decrypted stream is
   * sniffed as on a cleartext port. ALPN offers http/1.1 before h2 so that HTTP clients which
   * offer both (curl, browsers) reach the gateway over HTTP/1.1; gRPC clients offer only h2.
   */
  readonly tls?: ServerTls;
}

export interface ClientFront {
  /** Listens on "http[s]://host:port" | "host:port" | "unix[s]:path"; resolves with the bound port (0 for unix). */
  listen(url: string): Promise<number>;
  /** Stops listening and closes gateway connections (gRPC connections close with the gRPC server). */
  close(): Promise<void>;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** True/false once the first bytes decide, undefined while they could still be either. */
function isHttp2(head: Buffer): boolean | undefined {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (!head.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return false;
  return n === H2_PREFACE.length ? true : undefined;
}

function tlsListener(url: string, tls: ServerTls | undefined, route: (socket: Socket) => void): NetServer {
  if (tls === undefined) {
    throw new Error(`TLS key/cert (--cert-file, --key-file) must be provided for client url ${url} with HTTPS scheme`);
  }
  const server = createTlsServer(serverTlsOptions(tls, ['http/1.1', 'h2']), (socket) => {
    socket.setNoDelay(true);
    route(socket);
  });
  // A failed handshake (no or an untrusted client certificate, plain text on a TLS port)
  // only ends that connection.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return server;
}

export function createClientFront(
  grpcServer: { injectConnection(connection: Duplex): void },
  gateway: { handle(req: IncomingMessage, res: ServerResponse): void },
  options: ClientFrontOptions = {},
): ClientFront {
  const http = createHttpServer({ keepAliveTimeout: 5000 }, (req, res) => gateway.handle(req, res));
  const listeners: NetServer[] = [];
  const sockets = new Set<Socket>();

  const route = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const h2 = isHttp2(head);
      if (h2 === undefined) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      if (h2) {
        // Node's Http2Session drains what is buffered in the socket (the preface put back
        // above) before reading its handle; resuming here would spill it as 'data' instead.
        sockets.delete(socket);
        grpcServer.injectConnection(socket);
      } else {
        http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  };

  return {
    listen(url: string): Promise<number> {
      let address: string;
      let server: NetServer;
      try {
        address = parseListenUrl(withoutTlsScheme(url));
        server = isTlsUrl(url) ? tlsListener(url, options.tls, route) : createNetServer({ noDelay: true }, route);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      listeners.push(server);
      return new Promise((resolve, reject) => {
        server.once('error', (error) => reject(new Error(`cannot listen on ${url}: ${error.message}`)));
        const done = (): void => {
          const a = server.address();
          resolve(typeof a === 'object' && a !== null ? (a as AddressInfo).port : 0);
        };
        if (address.startsWith('unix:')) server.listen(address.slice('unix:'.length), done);
        else {
          const colon = address.lastIndexOf(':');
          const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
          server.listen(Number(address.slice(colon + 1)), host, done);
        }
      });
    },
    async close(): Promise<void> {
      await Promise.all(listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      for (const s of sockets) s.destroy();
      http.close();
    },
  };
}
