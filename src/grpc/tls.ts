/**
 * TLS material and options shared by the client port (gRPC + gateway), the peer transport and
 * the clients, with etcd 3.4's meaning of its flags:
 * - a server presents --cert-file/--key-file; with --client-cert-auth, or with a
 *   --trusted-ca-file (etcd's TLSInfo.ServerConfig requires and verifies client certificates
 *   as soon as it has client CAs), it refuses the handshake unless a client certificate
 *   signed by the trusted CA comes back;
 * - with neither, no client certificate is asked for (Go's NoClientCert);
 * - only --client-cert-auth makes the certificate's CN a user name (etcd's
 *   ClientCertAuthEnabled); a CA alone only filters who may connect;
 * - a dialer verifies the server against its CA unless told to skip verification (auto-tls
 *   peers, etcdctl --insecure-skip-tls-verify), and presents its own certificate if it has one.
 */
import { readFileSync } from 'node:fs';
import type { PeerCertificate, SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';

export interface ServerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** '' for none. */
  readonly trustedCaFile: string;
  readonly clientCertAuth: boolean;
}

/** What a TLS listener serves with. */
export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA bundle client certificates must chain to; undefined: Node's default roots. */
  readonly ca: Buffer | undefined;
  /** --client-cert-auth: certificates are required, and their CN names the user under auth. */
  readonly clientCertAuth: boolean;
}

/** What a TLS dialer uses. All optional: an empty object means "TLS, verify against the default roots". */
export interface ClientTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Accept any server certificate (etcdctl --insecure-skip-tls-verify, auto-tls peers). */
  readonly skipVerify?: boolean;
}

export interface ClientTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly skipVerify?: boolean;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function loadServerTls(files: ServerTlsFiles): ServerTls {
  if (files.certFile === '' || files.keyFile === '') throw new Error('TLS needs both a certificate file and a key file');
  return {
    cert: read(files.certFile, 'certificate file'),
    key: read(files.keyFile, 'key file'),
    ca: files.trustedCaFile === '' ? undefined : read(files.trustedCaFile, 'trusted CA file'),
    clientCertAuth: files.clientCertAuth,
  };
}

export function loadClientTls(files: ClientTlsFiles): ClientTls {
  if ((files.certFile ?? '') === '' !== ((files.keyFile ?? '') === '')) {
    throw new Error('a client certificate needs both --cert and --key');
  }
  return {
    ...(files.caFile ? { ca: read(files.caFile, 'CA file') } : {}),
    ...(files.certFile ? { cert: read(files.certFile, 'certificate file') } : {}),
    ...(files.keyFile ? { key: read(files.keyFile, 'key file') } : {}),
    ...(files.skipVerify === true ? { skipVerify: true } : {}),
  };
}

/** https:// and unixs:// are TLS listeners/endpoints, as in etcd. */
export function isTlsUrl(url: string): boolean {
  return url.startsWith('https://') || url.startsWith('unixs:');
}

/** The same URL without TLS in its scheme (for the address parsers that only know cleartext). */
export function withoutTlsScheme(url: string): string {
  if (url.startsWith('https://')) return `http://${url.slice('https://'.length)}`;
  if (url.startsWith('unixs://')) return `unix://${url.slice('unixs://'.length)}`;
  if (url.startsWith('unixs:')) return `unix:${url.slice('unixs:'.length)}`;
  return url;
}

/** etcd requires (and verifies) a client certificate under --client-cert-auth or with client CAs. */
export function requiresClientCertificate(tls: ServerTls): boolean {
  return tls.clientCertAuth || tls.ca !== undefined;
}

/** node:tls server options for a listener; `alpn` in order of preference. */
export function serverTlsOptions(tls: ServerTls, alpn: readonly string[]): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    requestCert: requiresClientCertificate(tls),
    rejectUnauthorized: requiresClientCertificate(tls),
    ALPNProtocols: [...alpn],
    minVersion: 'TLSv1.2',
  };
}

/** node:tls / node:http2 connect options for a dialer. */
export function clientTlsOptions(tls: ClientTls): SecureContextOptions & { rejectUnauthorized: boolean } {
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    rejectUnauthorized: tls.skipVerify !== true,
    minVersion: 'TLSv1.2',
  };
}

/** The common name of a peer certificate, or undefined when there is none. */
export function commonNameOf(certificate: PeerCertificate | undefined): string | undefined {
  const cn: unknown = certificate?.subject?.CN;
  if (typeof cn === 'string' && cn !== '') return cn;
  // A subject with several CNs lists them as an array; etcd takes the certificate's CommonName, the first.
  if (Array.isArray(cn) && typeof cn[0] === 'string' && cn[0] !== '') return cn[0];
  return undefined;
}

/**
 * The CN of the client certificate on a TLS connection, only when the handshake verified it
 * against the trusted CA (an unverified certificate names nobody).
 */
export function verifiedClientCommonName(socket: unknown): string | undefined {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (tls?.encrypted !== true || tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  return commonNameOf(tls.getPeerCertificate());
}
