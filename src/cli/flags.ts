/**
 * etcd's server flags and their ETCD_* environment variables (a flag wins over its variable),
 * with etcd's defaults, except that the data dir defaults to "<name>.tsetcd" beside etcd's
 * "<name>.etcd" so the two never share a directory by accident.
 */
export interface ServerFlags {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  /** name -> peer URLs */
  readonly initialCluster: ReadonlyMap<string, readonly string[]>;
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  /** Entries kept behind a snapshot so a slow follower catches up without one (etcd's experimental flag). */
  readonly snapshotCatchUpEntries: number;
  readonly quotaBackendBytes: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  /** --auth-token: "simple" (default) or "jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...". */
  readonly authToken?: string;
  /** --bcrypt-cost for password hashes (default 10, as etcd). */
  readonly bcryptCost?: number;
  /** --auth-token-ttl: seconds a simple token lives without use (default 300). */
  readonly authTokenTtlSeconds?: number;
  readonly autoCompactionMode: 'periodic' | 'revision';
  readonly autoCompactionRetention: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Client TLS (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth, --auto-tls); absent: none. */
  readonly clientTls?: TlsFlags;
  /** Peer TLS (--peer-cert-file, ..., --peer-auto-tls); absent: none. */
  readonly peerTls?: TlsFlags;
}

/** One side's TLS flags, as etcd's TLSInfo; '' for a file not given. */
export interface TlsFlags {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile: string;
  readonly clientCertAuth: boolean;
  /** Generate a self-signed certificate into the data dir when https URLs come without cert files. */
  readonly autoTls: boolean;
}

interface FlagSpec {
  readonly env: string;
  readonly default: string;
  /** A Go bool flag: `--flag` alone means true and never takes the next argument. */
  readonly bool?: true;
}

const SPECS: Readonly<Record<string, FlagSpec>> = {
  name: { env: 'ETCD_NAME', default: 'default' },
  'data-dir': { env: 'ETCD_DATA_DIR', default: '' },
  'listen-client-urls': { env: 'ETCD_LISTEN_CLIENT_URLS', default: 'http://127.0.0.1:2379' },
  'advertise-client-urls': { env: 'ETCD_ADVERTISE_CLIENT_URLS', default: 'http://127.0.0.1:2379' },
  'listen-peer-urls': { env: 'ETCD_LISTEN_PEER_URLS', default: 'http://127.0.0.1:2380' },
  'initial-advertise-peer-urls': { env: 'ETCD_INITIAL_ADVERTISE_PEER_URLS', default: 'http://127.0.0.1:2380' },
  'initial-cluster': { env: 'ETCD_INITIAL_CLUSTER', default: '' },
  'initial-cluster-state': { env: 'ETCD_INITIAL_CLUSTER_STATE', default: 'new' },
  'initial-cluster-token': { env: 'ETCD_INITIAL_CLUSTER_TOKEN', default: 'etcd-cluster' },
  'heartbeat-interval': { env: 'ETCD_HEARTBEAT_INTERVAL', default: '100' },
  'election-timeout': { env: 'ETCD_ELECTION_TIMEOUT', default: '1000' },
  'snapshot-count': { env: 'ETCD_SNAPSHOT_COUNT', default: '100000' },
  'experimental-snapshot-catchup-entries': { env: 'ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES', default: '5000' },
  'quota-backend-bytes': { env: 'ETCD_QUOTA_BACKEND_BYTES', default: '0' },
  'max-request-bytes': { env: 'ETCD_MAX_REQUEST_BYTES', default: '1572864' },
  'max-txn-ops': { env: 'ETCD_MAX_TXN_OPS', default: '128' },
  'auth-token': { env: 'ETCD_AUTH_TOKEN', default: 'simple' },
  'bcrypt-cost': { env: 'ETCD_BCRYPT_COST', default: '10' },
  'auth-token-ttl': { env: 'ETCD_AUTH_TOKEN_TTL', default: '300' },
  'auto-compaction-mode': { env: 'ETCD_AUTO_COMPACTION_MODE', default: 'periodic' },
  'auto-compaction-retention': { env: 'ETCD_AUTO_COMPACTION_RETENTION', default: '0' },
  'log-level': { env: 'ETCD_LOG_LEVEL', default: 'info' },
  'cert-file': { env: 'ETCD_CERT_FILE', default: '' },
  'key-file': { env: 'ETCD_KEY_FILE', default: '' },
  'trusted-ca-file': { env: 'ETCD_TRUSTED_CA_FILE', default: '' },
  'client-cert-auth': { env: 'ETCD_CLIENT_CERT_AUTH', default: 'false', bool: true },
  'auto-tls': { env: 'ETCD_AUTO_TLS', default: 'false', bool: true },
  'peer-cert-file': { env: 'ETCD_PEER_CERT_FILE', default: '' },
  'peer-key-file': { env: 'ETCD_PEER_KEY_FILE', default: '' },
  'peer-trusted-ca-file': { env: 'ETCD_PEER_TRUSTED_CA_FILE', default: '' },
  'peer-client-cert-auth': { env: 'ETCD_PEER_CLIENT_CERT_AUTH', default: 'false', bool: true },
  'peer-auto-tls': { env: 'ETCD_PEER_AUTO_TLS', default: 'false', bool: true },
};

export class FlagError extends Error {
  override readonly name = 'FlagError';
}

export const USAGE = `usage: tsetcd [flags]

  --name NAME                          human-readable name for this member (default "default")
  --data-dir DIR                       path to the data directory (default "<name>.tsetcd")
  --listen-client-urls URLS            URLs to listen on for client traffic (default http://127.0.0.1:2379)
  --advertise-client-urls URLS         client URLs to advertise to the rest of the cluster
  --listen-peer-urls URLS              URLs to listen on for peer traffic (default http://127.0.0.1:2380)
  --initial-advertise-peer-urls URLS   this member's peer URLs to advertise
  --initial-cluster NAME=URL,...       initial cluster configuration for bootstrapping
  --initial-cluster-state new|existing initial cluster state (default new)
  --initial-cluster-token TOKEN        initial cluster token (default etcd-cluster)
  --heartbeat-interval MS              time of a heartbeat interval (default 100)
  --election-timeout MS                time for an election to time out (default 1000)
  --snapshot-count N                   applied entries between snapshots (default 100000)
  --experimental-snapshot-catchup-entries N
                                       entries kept for slow followers after a snapshot (default 5000)
  --quota-backend-bytes N              backend size before a NOSPACE alarm (default 0: 2 GiB)
  --max-request-bytes N                maximum client request size (default 1572864)
  --max-txn-ops N                      maximum operations in a txn (default 128)
  --auth-token simple|jwt,...          token type (default simple; jwt,pub-key=F,priv-key=F,sign-method=RS256)
  --bcrypt-cost N                      bcrypt cost of password hashes (default 10)
  --auth-token-ttl SECONDS             lifetime of an unused simple token (default 300)
  --auto-compaction-mode periodic|revision
  --auto-compaction-retention N        auto compaction retention (default 0: off)
  --log-level debug|info|warn|error    (default info)

Security (https:// in the listen URLs turns TLS on):
  --cert-file FILE                     client server TLS cert file
  --key-file FILE                      client server TLS key file
  --trusted-ca-file FILE               client server TLS trusted CA cert file
  --client-cert-auth                   refuse clients without a certificate signed by --trusted-ca-file
  --auto-tls                           client TLS using a generated self-signed certificate
  --peer-cert-file FILE                peer server TLS cert file (also the client cert towards peers)
  --peer-key-file FILE                 peer server TLS key file
  --peer-trusted-ca-file FILE          peer server TLS trusted CA file
  --peer-client-cert-auth              refuse peers without a certificate signed by --peer-trusted-ca-file
  --peer-auto-tls                      peer TLS using a generated self-signed certificate

Every flag can also be given as its ETCD_* environment variable (ETCD_NAME, ETCD_DATA_DIR, ...).`;

function parseArgv(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) throw new FlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (!(name in SPECS)) throw new FlagError(`unknown flag --${name}`);
    if (SPECS[name]?.bool === true && eq < 0) {
      out.set(name, 'true');
      continue;
    }
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : argv[i + 1];
    if (eq < 0) i++;
    if (value === undefined) throw new FlagError(`flag --${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

function urls(text: string, flag: string): string[] {
  const list = text.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  for (const u of list) {
    if (!/^(https?|unix|unixs):\/\/./.test(u)) throw new FlagError(`invalid URL "${u}" in --${flag}`);
  }
  return list;
}

/** Go's strconv.ParseBool, which etcd's bool flags and ETCD_* variables go through. */
function bool(text: string, flag: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  throw new FlagError(`invalid boolean value "${text}" for --${flag}`);
}

function tlsFlags(get: (name: string) => string, prefix: '' | 'peer-'): TlsFlags {
  return {
    certFile: get(`${prefix}cert-file`),
    keyFile: get(`${prefix}key-file`),
    trustedCaFile: get(`${prefix}trusted-ca-file`),
    clientCertAuth: bool(get(`${prefix}client-cert-auth`), `${prefix}client-cert-auth`),
    autoTls: bool(get(`${prefix}auto-tls`), `${prefix}auto-tls`),
  };
}

function integer(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new FlagError(`--${flag} must be an integer >= ${min}, got "${text}"`);
  return n;
}

function parseInitialCluster(text: string): Map<string, string[]> {
  const cluster = new Map<string, string[]>();
  for (const part of text.split(',').filter((p) => p.trim().length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`--initial-cluster: "${part}" is not NAME=URL`);
    const name = part.slice(0, eq).trim();
    cluster.set(name, [...(cluster.get(name) ?? []), ...urls(part.slice(eq + 1), 'initial-cluster')]);
  }
  return cluster;
}

export function parseServerFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServerFlags {
  const given = parseArgv(argv);
  const get = (name: string): string => {
    const spec = SPECS[name] as FlagSpec;
    return given.get(name) ?? env[spec.env] ?? spec.default;
  };
  const name = get('name');
  const peerUrls = urls(get('initial-advertise-peer-urls'), 'initial-advertise-peer-urls');
  const clusterText = get('initial-cluster') || `${name}=${peerUrls.join(',')}`;
  const initialCluster = parseInitialCluster(clusterText);
  if (!initialCluster.has(name)) throw new FlagError(`--initial-cluster has no member named "${name}"`);
  const state = get('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') throw new FlagError(`--initial-cluster-state must be new or existing, got "${state}"`);
  const heartbeatIntervalMs = integer(get('heartbeat-interval'), 'heartbeat-interval', 1);
  const electionTimeoutMs = integer(get('election-timeout'), 'election-timeout', 1);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new FlagError(`--election-timeout[${electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatIntervalMs}ms]`);
  }
  const mode = get('auto-compaction-mode');
  if (mode !== 'periodic' && mode !== 'revision') throw new FlagError(`--auto-compaction-mode must be periodic or revision`);
  const level = get('log-level');
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new FlagError(`--log-level must be debug, info, warn or error`);
  return {
    name,
    dataDir: get('data-dir') || `${name}.tsetcd`,
    listenClientUrls: urls(get('listen-client-urls'), 'listen-client-urls'),
    advertiseClientUrls: urls(get('advertise-client-urls'), 'advertise-client-urls'),
    listenPeerUrls: urls(get('listen-peer-urls'), 'listen-peer-urls'),
    initialAdvertisePeerUrls: peerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: get('initial-cluster-token'),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: integer(get('snapshot-count'), 'snapshot-count', 1),
    snapshotCatchUpEntries: integer(get('experimental-snapshot-catchup-entries'), 'experimental-snapshot-catchup-entries', 1),
    quotaBackendBytes: integer(get('quota-backend-bytes'), 'quota-backend-bytes', -1),
    maxRequestBytes: integer(get('max-request-bytes'), 'max-request-bytes', 1),
    maxTxnOps: integer(get('max-txn-ops'), 'max-txn-ops', 1),
    authToken: get('auth-token'),
    bcryptCost: integer(get('bcrypt-cost'), 'bcrypt-cost', 1),
    authTokenTtlSeconds: integer(get('auth-token-ttl'), 'auth-token-ttl', 1),
    autoCompactionMode: mode,
    autoCompactionRetention: get('auto-compaction-retention'),
    logLevel: level as ServerFlags['logLevel'],
    clientTls: tlsFlags(get, ''),
    peerTls: tlsFlags(get, 'peer-'),
  };
}
