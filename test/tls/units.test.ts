/**
 * TLS in process (no child processes): the flags, the certificate helper, tsetcdctl's
 * etcdctl-style TLS choices, the client front (gRPC and the HTTP gateway on one TLS port, the
 * verified certificate CN reaching the services, refusals under client-cert-auth) and the peer
 * transport over https with and without peer client-cert-auth.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerFlags, FlagError } from '../../src/cli/flags.js';
import { GLOBAL_FLAGS, parseArgs } from '../../src/cli/ctl/flags.js';
import { clientOptionsFor, tlsConfigFromFlags } from '../../src/cli/ctl/tls.js';
import { createCertificate, ensureSelfSignedCertificate } from '../../src/env/node/index.js';
import type { Logger } from '../../src/env/index.js';
import {
  PeerTransport,
  createClientFront,
  createGateway,
  createGrpcClient,
  createGrpcServer,
  loadServerTls,
  peerRequest,
} from '../../src/grpc/index.js';
import type { CallContext, ClientFront, ClientTls, EtcdServices, GrpcServer, ServerTls } from '../../src/grpc/index.js';
import { emptyMessage } from '../../src/raft/index.js';
import type { Message } from '../../src/raft/index.js';
import { nodeId } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';
import { memKvServices } from '../grpc/memkv.js';
import { makePki } from './harness.js';
import type { Pki } from './harness.js';

const SLOW_MS = 60_000;
let pki: Pki;

beforeAll(() => {
  pki = makePki(['alice']);
}, SLOW_MS);

afterAll(() => {
  rmSync(pki.dir, { recursive: true, force: true });
});

const alice = (): { cert: Buffer; key: Buffer } => {
  const files = pki.clients.get('alice');
  if (files === undefined) throw new Error('no alice');
  return { cert: readFileSync(files.cert), key: readFileSync(files.key) };
};
const ca = (): Buffer => readFileSync(pki.caFile);
/** 'cert-auth': --trusted-ca-file --client-cert-auth; 'ca-only': the CA without the flag; 'none': neither. */
type ClientAuthMode = 'cert-auth' | 'ca-only' | 'none';
const serverTls = (mode: ClientAuthMode): ServerTls =>
  loadServerTls({ certFile: pki.server.cert, keyFile: pki.server.key, trustedCaFile: mode === 'none' ? '' : pki.caFile, clientCertAuth: mode === 'cert-auth' });

describe('server TLS flags', () => {
  it('parses Go-style bool flags: alone, =value, and from ETCD_* variables', () => {
    const f = parseServerFlags(['--client-cert-auth', '--cert-file', '/c.pem', '--key-file=/k.pem', '--peer-auto-tls=true', '--trusted-ca-file', '/ca.pem'], {});
    expect(f.clientTls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem', trustedCaFile: '/ca.pem', clientCertAuth: true, autoTls: false });
    expect(f.peerTls).toEqual({ certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false, autoTls: true });
    const e = parseServerFlags([], { ETCD_PEER_CLIENT_CERT_AUTH: 'true', ETCD_AUTO_TLS: '1', ETCD_PEER_CERT_FILE: '/p.pem' });
    expect(e.peerTls?.clientCertAuth).toBe(true);
    expect(e.peerTls?.certFile).toBe('/p.pem');
    expect(e.clientTls?.autoTls).toBe(true);
    expect(parseServerFlags(['--client-cert-auth=false'], { ETCD_CLIENT_CERT_AUTH: 'true' }).clientTls?.clientCertAuth).toBe(false);
    expect(() => parseServerFlags(['--auto-tls=maybe'], {})).toThrow(FlagError);
  });
});

describe('certificates', () => {
  it('issues a CA, a server certificate for 127.0.0.1 and localhost, and client certificates that chain to it', () => {
    const caCert = new X509Certificate(readFileSync(pki.caFile));
    const server = new X509Certificate(readFileSync(pki.server.cert));
    const client = new X509Certificate(alice().cert);
    expect(caCert.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(caCert.publicKey)).toBe(true);
    expect(client.verify(caCert.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(client.subject).toContain('CN=alice');
    expect(new X509Certificate(readFileSync(pki.untrusted.cert)).verify(caCert.publicKey)).toBe(false);
  });

  it('auto-tls writes a self-signed pair once and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsetcd-autotls-'));
    try {
      const first = ensureSelfSignedCertificate(join(dir, 'fixtures', 'client'), ['127.0.0.1']);
      const pem = readFileSync(first.certFile, 'utf8');
      const cert = new X509Certificate(pem);
      expect(cert.verify(cert.publicKey)).toBe(true);
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      const again = ensureSelfSignedCertificate(join(dir, 'fixtures', 'client'), ['127.0.0.1']);
      expect(again).toEqual(first);
      expect(readFileSync(again.certFile, 'utf8')).toBe(pem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tsetcdctl TLS choices (etcdctl 3.4 rules)', () => {
  const config = (argv: string[]): ClientTls | undefined => tlsConfigFromFlags(parseArgs(argv, GLOBAL_FLAGS));

  it('files make a configuration; bare endpoints then dial TLS, http:// never does, https:// always does', () => {
    const files = pki.clients.get('alice');
    if (files === undefined) throw new Error('no alice');
    const c = config(['--cacert', pki.caFile, '--cert', files.cert, '--key', files.key]);
    expect(c?.ca?.equals(ca())).toBe(true);
    expect(c?.cert?.equals(alice().cert)).toBe(true);
    expect(clientOptionsFor('127.0.0.1:1', c).tls).toBe(c);
    expect(clientOptionsFor('http://127.0.0.1:1', c).tls).toBeUndefined();
    expect(clientOptionsFor('https://127.0.0.1:1', undefined).tls).toEqual({});
    expect(clientOptionsFor('127.0.0.1:1', undefined).tls).toBeUndefined();
  });

  it('--insecure-skip-tls-verify loosens only an existing configuration', () => {
    expect(config(['--insecure-skip-tls-verify'])).toBeUndefined();
    expect(config(['--insecure-skip-tls-verify', '--insecure-transport=false'])).toEqual({ skipVerify: true });
    expect(config(['--insecure-transport=false'])).toEqual({});
    expect(config(['--cacert', pki.caFile, '--insecure-skip-tls-verify'])?.skipVerify).toBe(true);
  });

  it('refuses a certificate without its key, and a missing file, with etcdctl\'s words', () => {
    expect(() => config(['--cert', pki.server.cert])).toThrow(`KeyFile and CertFile must both be present[key: , cert: ${pki.server.cert}]`);
    expect(() => config(['--cacert', '/nonexistent/ca.pem'])).toThrow('open /nonexistent/ca.pem: no such file or directory');
  });
});

interface FrontFixture {
  front: ClientFront;
  grpc: GrpcServer;
  port: number;
  seen: (string | undefined)[];
}

/** A MemKv behind the TLS front; records the CN every range and put saw. */
async function tlsFront(mode: ClientAuthMode): Promise<FrontFixture> {
  const base = memKvServices();
  const seen: (string | undefined)[] = [];
  const services: EtcdServices = {
    ...base,
    range: (r, ctx: CallContext) => {
      seen.push(ctx.certCommonName);
      return base.range(r, ctx);
    },
    put: (r, ctx: CallContext) => {
      seen.push(ctx.certCommonName);
      return base.put(r, ctx);
    },
  };
  const clientCertAuth = mode === 'cert-auth';
  const grpc = createGrpcServer(services, { clientCertAuth });
  const front = createClientFront(grpc, createGateway(services, { clientCertAuth, isAuthEnabled: () => false }), { tls: serverTls(mode) });
  const port = await front.listen('https://127.0.0.1:0');
  return { front, grpc, port, seen };
}

async function closeFront(f: FrontFixture): Promise<void> {
  await f.front.close();
  await f.grpc.close();
}

function httpsRequest(port: number, path: string, body: string | undefined, creds: { cert?: Buffer; key?: Buffer }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: ca(), ...creds }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('client port over TLS', () => {
  it('serves gRPC and the gateway on one https port; gRPC calls carry the verified CN, gateway calls never do (as etcd)', async () => {
    const f = await tlsFront('cert-auth');
    const client = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { ca: ca(), ...alice() }, ownConnection: true });
    try {
      await client.unary('put', { key: Buffer.from('k'), value: Buffer.from('v') });
      const got = await client.unary('range', { key: Buffer.from('k') });
      expect(Buffer.from(got.kvs[0]?.value ?? []).toString()).toBe('v');
      const viaGateway = await httpsRequest(f.port, '/v3/kv/range', JSON.stringify({ key: Buffer.from('k').toString('base64') }), alice());
      expect(viaGateway.status).toBe(200);
      expect(JSON.parse(viaGateway.text).kvs[0].value).toBe(Buffer.from('v').toString('base64'));
      expect(f.seen).toEqual(['alice', 'alice', undefined]);
      const health = await httpsRequest(f.port, '/health', undefined, alice());
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toHaveProperty('health');
    } finally {
      client.close();
      await closeFront(f);
    }
  }, SLOW_MS);

  it('with client-cert-auth refuses clients without a certificate, with an untrusted one, or in clear text', async () => {
    const f = await tlsFront('cert-auth');
    const noCert = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { ca: ca() }, ownConnection: true });
    const untrusted = createGrpcClient(`https://127.0.0.1:${f.port}`, {
      tls: { ca: ca(), cert: readFileSync(pki.untrusted.cert), key: readFileSync(pki.untrusted.key) },
      ownConnection: true,
    });
    const plain = createGrpcClient(`127.0.0.1:${f.port}`, { ownConnection: true });
    try {
      for (const c of [noCert, untrusted, plain]) {
        await expect(c.unary('range', { key: Buffer.from('k') }, { deadlineMs: 2000 })).rejects.toMatchObject({ grpcCode: expect.any(Number) });
      }
      await expect(httpsRequest(f.port, '/health', undefined, {})).rejects.toThrow();
      // Clear-text HTTP/1 on the TLS port: the handshake fails and the connection ends unanswered.
      const answer = await new Promise<string>((resolve) => {
        const s = netConnect(f.port, '127.0.0.1', () => s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString('latin1')));
        s.on('close', () => resolve(text));
        s.on('error', () => resolve(text));
      });
      expect(answer).not.toContain('HTTP/1.1 200');
      expect(f.seen).toEqual([]);
    } finally {
      noCert.close();
      untrusted.close();
      plain.close();
      await closeFront(f);
    }
  }, SLOW_MS);

  it('with a trusted CA but no client-cert-auth a certificate is required, yet its CN names nobody (as etcd)', async () => {
    const f = await tlsFront('ca-only');
    const noCert = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { ca: ca() }, ownConnection: true });
    const withCert = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { ca: ca(), ...alice() }, ownConnection: true });
    try {
      await expect(noCert.unary('range', { key: Buffer.from('k') }, { deadlineMs: 2000 })).rejects.toMatchObject({ grpcCode: expect.any(Number) });
      await withCert.unary('range', { key: Buffer.from('k') });
      expect(f.seen).toEqual([undefined]);
    } finally {
      noCert.close();
      withCert.close();
      await closeFront(f);
    }
  }, SLOW_MS);

  it('without a CA or client-cert-auth serves certificate-less clients, and no CN reaches the services', async () => {
    const f = await tlsFront('none');
    const client = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { ca: ca() }, ownConnection: true });
    const skip = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { skipVerify: true }, ownConnection: true });
    const strict = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: {}, ownConnection: true });
    try {
      await client.unary('range', { key: Buffer.from('k') });
      await skip.unary('range', { key: Buffer.from('k') });
      // Verification against the default roots fails: the test CA is not one of them.
      await expect(strict.unary('range', { key: Buffer.from('k') }, { deadlineMs: 2000 })).rejects.toMatchObject({ grpcCode: expect.any(Number) });
      expect(f.seen).toEqual([undefined, undefined]);
    } finally {
      client.close();
      skip.close();
      strict.close();
      await closeFront(f);
    }
  }, SLOW_MS);

  it('refuses an expired client certificate from the trusted CA, and offers http/1.1 before h2', async () => {
    const f = await tlsFront('cert-auth');
    const expired = createCertificate({ commonName: 'alice', startOffsetDays: -400, validityDays: 365 }, pki.pem.ca);
    const old = createGrpcClient(`https://127.0.0.1:${f.port}`, { tls: { ca: ca(), cert: Buffer.from(expired.certPem), key: Buffer.from(expired.keyPem) }, ownConnection: true });
    try {
      await expect(old.unary('range', { key: Buffer.from('k') }, { deadlineMs: 2000 })).rejects.toMatchObject({ grpcCode: expect.any(Number) });
      expect(f.seen).toEqual([]);
      // A client offering both (curl, browsers) gets HTTP/1.1, which the gateway serves; gRPC offers only h2.
      const negotiated = async (offer: string[]): Promise<string | false> =>
        new Promise((resolve, reject) => {
          const s = tlsConnect({ host: '127.0.0.1', port: f.port, ca: ca(), ...alice(), ALPNProtocols: offer }, () => {
            resolve(s.alpnProtocol ?? false);
            s.destroy();
          });
          s.on('error', reject);
        });
      expect(await negotiated(['h2', 'http/1.1'])).toBe('http/1.1');
      expect(await negotiated(['h2'])).toBe('h2');
    } finally {
      old.close();
      await closeFront(f);
    }
  }, SLOW_MS);

  it('an https listen URL without certificates is refused with etcd\'s message', async () => {
    const grpc = createGrpcServer(memKvServices());
    const front = createClientFront(grpc, createGateway(memKvServices()));
    await expect(front.listen('https://127.0.0.1:0')).rejects.toThrow('TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:0 with HTTPS scheme');
    await front.close();
    await grpc.close();
  });
});

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const A = nodeId('000000000000000a');
const B = nodeId('000000000000000b');

describe('peer transport over TLS', () => {
  async function peers(mode: ClientAuthMode, clientOfA: ClientTls): Promise<{ a: PeerTransport; b: PeerTransport; got: Message[]; urlB: string }> {
    const urls = new Map<NodeId, string>();
    const server = serverTls(mode);
    const mine: ClientTls = { ca: ca(), cert: server.cert, key: server.key };
    const a = new PeerTransport({ selfId: A, clusterId: 'c1', peerUrls: (id) => (urls.has(id) ? [urls.get(id) as string] : undefined), logger: quiet, tls: { server, client: clientOfA }, backoffMsMin: 10, backoffMsMax: 50 });
    const b = new PeerTransport({ selfId: B, clusterId: 'c1', peerUrls: (id) => (urls.has(id) ? [urls.get(id) as string] : undefined), logger: quiet, tls: { server, client: mine } });
    urls.set(A, `https://127.0.0.1:${await a.listen('https://127.0.0.1:0')}`);
    const urlB = `https://127.0.0.1:${await b.listen('https://127.0.0.1:0')}`;
    urls.set(B, urlB);
    const got: Message[] = [];
    b.onReceive((_from, m) => got.push(m));
    b.route('/members', () => Promise.resolve({ ok: 'members' }));
    return { a, b, got, urlB };
  }

  const heartbeat = (): Message => ({ ...emptyMessage({ type: 'heartbeat', from: A, to: B }), term: 2 });

  /** Sends heartbeats until one arrived and the sender saw the stream accepted (or `rounds` ran out). */
  async function pump(a: PeerTransport, got: Message[], rounds: number): Promise<void> {
    for (let i = 0; i < rounds && (got.length === 0 || !a.isActive(B)); i++) {
      a.send(B, heartbeat());
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('carries Raft messages and JSON routes over https, with peer client-cert-auth', async () => {
    const server = serverTls('cert-auth');
    const { a, b, got, urlB } = await peers('cert-auth', { ca: ca(), cert: server.cert, key: server.key });
    try {
      await pump(a, got, 250);
      expect(got.length).toBeGreaterThan(0);
      expect(got[0]?.type).toBe('heartbeat');
      expect(a.isActive(B)).toBe(true);
      expect(await peerRequest(urlB, '/members', undefined, 3000, { ca: ca(), cert: server.cert, key: server.key })).toEqual({ ok: 'members' });
      await expect(peerRequest(urlB, '/members', undefined, 3000, { ca: ca() })).rejects.toThrow();
      // In clear text the TLS listener answers nothing.
      await expect(peerRequest(urlB.replace('https:', 'http:'), '/members', undefined, 1500)).rejects.toThrow();
    } finally {
      await a.close();
      await b.close();
    }
  }, SLOW_MS);

  it('under peer client-cert-auth a member without a trusted certificate gets nothing through', async () => {
    const { a, b, got } = await peers('cert-auth', { ca: ca(), cert: readFileSync(pki.untrusted.cert), key: readFileSync(pki.untrusted.key) });
    try {
      await pump(a, got, 40);
      expect(got).toEqual([]);
      expect(a.isActive(B)).toBe(false);
      expect(a.stats.droppedMessages).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  }, SLOW_MS);

  it('a dialer that skips verification reaches a peer whose certificate it cannot verify (peer auto-tls)', async () => {
    const { a, b, got } = await peers('none', { skipVerify: true });
    try {
      await pump(a, got, 250);
      expect(got.length).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  }, SLOW_MS);
});
