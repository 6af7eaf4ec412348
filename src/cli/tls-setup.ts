/**
 * Turns the TLS flags into what the listeners and dialers use, as etcd 3.4 does:
 * - https:// listen URLs need --cert-file/--key-file, or --auto-tls, which generates a
 *   self-signed certificate into <data-dir>/fixtures/client (fixtures/peer for peers) and
 *   reuses it on restart; given cert files win over auto-tls;
 * - a member dials https:// peers with its peer certificate as the client certificate and the
 *   peer CA to verify them; with --peer-auto-tls it skips the verification (the peers'
 *   certificates are self-signed), as etcd's selfCert TLSInfo does.
 */
import { join } from 'node:path';
import type { Logger } from '../env/index.js';
import { ensureSelfSignedCertificate } from '../env/node/index.js';
import { isTlsUrl, loadServerTls } from '../grpc/index.js';
import type { ClientTls, PeerTls, ServerTls } from '../grpc/index.js';
import type { ServerFlags, TlsFlags } from './flags.js';

export interface ResolvedTls {
  /** For the client listeners; undefined when no client URL is https. */
  readonly client: ServerTls | undefined;
  /** For the peer transport and the joiner's member-list fetch. */
  readonly peer: PeerTls;
}

const NO_TLS: TlsFlags = { certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false, autoTls: false };

function hostsOf(urls: readonly string[]): string[] {
  const hosts = new Set<string>();
  for (const url of urls) {
    try {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      if (host !== '') hosts.add(host);
    } catch {
      // unix sockets have no host to put in a certificate
    }
  }
  return [...hosts];
}

type Side = 'client' | 'peer';

const FLAG_PREFIX: Readonly<Record<Side, string>> = { client: '', peer: 'peer-' };

/** The server material for one side, or undefined when none of its listen URLs is https. */
function serverTls(side: Side, tls: TlsFlags, listenUrls: readonly string[], certHosts: readonly string[], dataDir: string, logger: Logger): ServerTls | undefined {
  const p = FLAG_PREFIX[side];
  const hasFiles = tls.certFile !== '' || tls.keyFile !== '';
  if (!listenUrls.some(isTlsUrl)) {
    if (hasFiles || tls.autoTls) logger.warn(`${side} URLs are not https; ignoring the ${side} TLS flags`, { urls: listenUrls });
    return undefined;
  }
  if (hasFiles) {
    if (tls.autoTls) logger.warn(`ignoring --${p}auto-tls since certs given`);
    return loadServerTls(tls);
  }
  if (!tls.autoTls) {
    const url = listenUrls.find(isTlsUrl) as string;
    throw new Error(`TLS key/cert (--${p}cert-file, --${p}key-file) must be provided for ${side} url ${url} with HTTPS scheme`);
  }
  const files = ensureSelfSignedCertificate(join(dataDir, 'fixtures', side), certHosts);
  logger.info(`${side} TLS: using the self-signed certificate`, { certFile: files.certFile });
  // A self-signed certificate cannot vouch for anyone else: no client certificate auth.
  return loadServerTls({ ...files, trustedCaFile: '', clientCertAuth: false });
}

/** The peer dialer: our peer certificate as the client certificate, the peer CA to verify. */
function peerClientTls(tls: TlsFlags, server: ServerTls | undefined, dataDir: string, certHosts: readonly string[]): ClientTls {
  if (tls.certFile !== '' || tls.keyFile !== '') {
    const files = loadServerTls(tls);
    return { cert: files.cert, key: files.key, ...(files.ca === undefined ? {} : { ca: files.ca }) };
  }
  if (tls.autoTls) {
    const own = server ?? loadServerTls({ ...ensureSelfSignedCertificate(join(dataDir, 'fixtures', 'peer'), certHosts), trustedCaFile: '', clientCertAuth: false });
    return { cert: own.cert, key: own.key, skipVerify: true };
  }
  return {};
}

export function resolveTls(flags: ServerFlags, logger: Logger): ResolvedTls {
  const clientFlags = flags.clientTls ?? NO_TLS;
  const peerFlags = flags.peerTls ?? NO_TLS;
  const clientHosts = hostsOf([...flags.listenClientUrls, ...flags.advertiseClientUrls]);
  const peerHosts = hostsOf([...flags.listenPeerUrls, ...flags.initialAdvertisePeerUrls]);
  const client = serverTls('client', clientFlags, flags.listenClientUrls, clientHosts, flags.dataDir, logger);
  const peerServer = serverTls('peer', peerFlags, flags.listenPeerUrls, peerHosts, flags.dataDir, logger);
  const peerClient = peerClientTls(peerFlags, peerServer, flags.dataDir, peerHosts);
  return { client, peer: peerServer === undefined ? { client: peerClient } : { server: peerServer, client: peerClient } };
}
