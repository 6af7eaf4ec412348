/**
 * Where members live on the network, and how the runner cuts links between them.
 *
 * netns mode: one network namespace per member, each with a veth pair to a bridge in the root
 * namespace (member i at 10.<k>.0.i, the bridge at 10.<k>.0.254). Clients stay in the root
 * namespace and reach every member through the bridge; a partition adds black-hole routes to
 * peer addresses inside the members' namespaces, so member-to-member TCP stops while client
 * traffic (from the bridge address) still flows. iptables/nft are not needed.
 *
 * loopback mode: every member on 127.0.0.1 with free ports; partitions are unavailable.
 */
import { execFile } from 'node:child_process';
import type { NodeName } from '../../nemesis/index.js';
import type { Cut } from './cuts.js';
import { freePort } from '../free-port.js';

/** Every namespace and bridge the runner creates starts with this, so --cleanup finds leftovers. */
export const NS_PREFIX = 'tsj-';
export const LINK_PREFIX = 'tsj';
const NETNS_CLIENT_PORT = 12379;
const NETNS_PEER_PORT = 12380;

export function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}


export interface Endpoint {
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

export interface Network {
  readonly mode: 'netns' | 'loopback';
  readonly canPartition: boolean;
  /** The namespaces this network created (empty on loopback). */
  readonly namespaces: readonly string[];
  endpoint(name: NodeName): Endpoint;
  /** The command line that runs `argv` as member `name` (inside its namespace in netns mode). */
  command(name: NodeName, argv: readonly string[]): readonly string[];
  /** Replaces the current cuts with these. */
  setCuts(cuts: readonly Cut[]): Promise<void>;
  teardown(): Promise<void>;
}

class LoopbackNetwork implements Network {
  readonly mode = 'loopback';
  readonly canPartition = false;
  readonly namespaces: readonly string[] = [];
  constructor(private readonly endpoints: ReadonlyMap<NodeName, Endpoint>) {}

  static async create(names: readonly NodeName[]): Promise<LoopbackNetwork> {
    const endpoints = new Map<NodeName, Endpoint>();
    for (const n of names) endpoints.set(n, { host: '127.0.0.1', clientPort: await freePort(), peerPort: await freePort() });
    return new LoopbackNetwork(endpoints);
  }

  endpoint(name: NodeName): Endpoint {
    const e = this.endpoints.get(name);
    if (e === undefined) throw new Error(`no member ${name}`);
    return e;
  }

  command(_name: NodeName, argv: readonly string[]): readonly string[] {
    return argv;
  }

  setCuts(cuts: readonly Cut[]): Promise<void> {
    if (cuts.length > 0) return Promise.reject(new Error('partitions need network namespaces (run as root with CAP_NET_ADMIN)'));
    return Promise.resolve();
  }

  teardown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A /24 in 10.0.0.0/8 that no interface or route of this host uses yet. */
async function freeSubnet(): Promise<number> {
  const used = (await ip(['-4', '-o', 'addr'])) + (await ip(['-4', 'route']));
  for (let tries = 0; tries < 200; tries++) {
    const k = 100 + Math.floor(Math.random() * 150);
    if (!used.includes(`10.${k}.`)) return k;
  }
  throw new Error('no free 10.k.0.0/24 subnet');
}

class NamespaceNetwork implements Network {
  readonly mode = 'netns';
  readonly canPartition = true;
  private cuts: Cut[] = [];
  readonly namespaces: readonly string[];
  private readonly created: { namespaces: string[]; veths: string[]; bridge: string | undefined } = { namespaces: [], veths: [], bridge: undefined };

  private constructor(
    private readonly runId: string,
    private readonly subnet: number,
    private readonly names: readonly NodeName[],
  ) {
    this.namespaces = names.map((n) => this.ns(n));
  }

  static async create(names: readonly NodeName[]): Promise<NamespaceNetwork> {
    const runId = Math.random().toString(36).slice(2, 7);
    const net = new NamespaceNetwork(runId, await freeSubnet(), names);
    try {
      await net.build();
    } catch (error) {
      await net.teardown();
      throw error;
    }
    return net;
  }

  private ns(name: NodeName): string {
    return `${NS_PREFIX}${this.runId}-${name}`;
  }

  private addressOf(name: NodeName): string {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`no member ${name}`);
    return `10.${this.subnet}.0.${i + 1}`;
  }

  private async build(): Promise<void> {
    const bridge = `${LINK_PREFIX}b${this.runId}`;
    await ip(['link', 'add', bridge, 'type', 'bridge']);
    this.created.bridge = bridge;
    await ip(['addr', 'add', `10.${this.subnet}.0.254/24`, 'dev', bridge]);
    // Two runs starting together may have drawn the same subnet: the later one gives up.
    const owners = (await ip(['-4', '-o', 'addr'])).split('\n').filter((l) => l.includes(` 10.${this.subnet}.`));
    if (owners.length !== 1) throw new Error(`subnet 10.${this.subnet}.0.0/24 taken by another run meanwhile`);
    await ip(['link', 'set', bridge, 'up']);
    for (const [i, name] of this.names.entries()) {
      const ns = this.ns(name);
      await ip(['netns', 'add', ns]);
      this.created.namespaces.push(ns);
      const outer = `${LINK_PREFIX}${this.runId}v${i + 1}`;
      await ip(['link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      this.created.veths.push(outer);
      await ip(['link', 'set', outer, 'master', bridge]);
      await ip(['link', 'set', outer, 'up']);
      await ip(['-n', ns, 'addr', 'add', `${this.addressOf(name)}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  endpoint(name: NodeName): Endpoint {
    return { host: this.addressOf(name), clientPort: NETNS_CLIENT_PORT, peerPort: NETNS_PEER_PORT };
  }

  command(name: NodeName, argv: readonly string[]): readonly string[] {
    // `ip netns exec` execs the command itself, so the child's pid is the member's pid.
    return ['ip', 'netns', 'exec', this.ns(name), ...argv];
  }

  async setCuts(cuts: readonly Cut[]): Promise<void> {
    const key = (c: Cut): string => `${c.from}>${c.to}`;
    const wanted = new Set(cuts.map(key));
    const current = new Set(this.cuts.map(key));
    const remove = this.cuts.filter((c) => !wanted.has(key(c)));
    const add = cuts.filter((c) => !current.has(key(c)));
    for (const c of remove) await ip(['-n', this.ns(c.from), 'route', 'del', 'blackhole', `${this.addressOf(c.to)}/32`]);
    for (const c of add) await ip(['-n', this.ns(c.from), 'route', 'add', 'blackhole', `${this.addressOf(c.to)}/32`]);
    this.cuts = [...cuts];
  }

  async teardown(): Promise<void> {
    // Deleting a namespace removes its veth pair, but not always at once: delete them first.
    for (const veth of this.created.veths.splice(0)) await ip(['link', 'del', veth]).catch(() => undefined);
    for (const ns of this.created.namespaces.splice(0)) await ip(['netns', 'del', ns]).catch(() => undefined);
    const bridge = this.created.bridge;
    this.created.bridge = undefined;
    if (bridge !== undefined) await ip(['link', 'del', bridge]).catch(() => undefined);
    this.cuts = [];
  }
}

/** Why namespaces cannot be used here, or undefined when they can. */
export async function namespaceProblem(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  const probe = `${NS_PREFIX}probe-${process.pid}`;
  try {
    await ip(['netns', 'add', probe]);
    await ip(['netns', 'del', probe]);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export async function createNetwork(mode: 'auto' | 'netns' | 'loopback', names: readonly NodeName[], log: (line: string) => void): Promise<Network> {
  if (mode === 'loopback') return LoopbackNetwork.create(names);
  const problem = await namespaceProblem();
  if (problem === undefined) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NamespaceNetwork.create(names);
      } catch (error) {
        if (attempt >= 3 || !(error instanceof Error) || !error.message.includes('taken by another run')) throw error;
      }
    }
  }
  if (mode === 'netns') throw new Error(`network namespaces unavailable: ${problem}`);
  log(`network namespaces unavailable (${problem}): members on loopback, partitions disabled`);
  return LoopbackNetwork.create(names);
}

/** Removes namespaces (and the processes in them) and bridges that earlier runs left behind. */
export async function cleanupLeftovers(log: (line: string) => void): Promise<number> {
  let removed = 0;
  const namespaces = (await ip(['netns', 'list']).catch(() => '')).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(NS_PREFIX));
  for (const ns of namespaces) {
    const pids = (await ip(['netns', 'pids', ns]).catch(() => '')).split('\n').filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
        log(`killed pid ${pid} in ${ns}`);
      } catch {
        // Already gone.
      }
    }
    await ip(['netns', 'del', ns]).then(() => (removed++, log(`removed namespace ${ns}`)), (e: unknown) => log(String(e)));
  }
  const links = (await ip(['-o', 'link', 'show']).catch(() => '')).split('\n').map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? '').filter((n) => n.startsWith(LINK_PREFIX));
  for (const link of links) await ip(['link', 'del', link]).then(() => (removed++, log(`removed link ${link}`)), (e: unknown) => log(String(e)));
  return removed;
}
