import { fromUtf8, nodeId, utf8 } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';
import { ProposalDropped } from '../../src/raft/index.js';
import type { ConfChangeType, Message } from '../../src/raft/index.js';
import { Network, formatEntry, formatMessage } from './harness.js';
import type { NetworkOptions } from './harness.js';

/**
 * A transcript file is a sequence of cases separated by blank lines. A case is one or more
 * command lines, a `----` line, then the expected output. Lines starting with '#' between
 * cases are comments. See test/raft/testdata/README.md for the commands.
 */
export type Item = { kind: 'text'; lines: string[] } | { kind: 'case'; line: number; commands: string[]; expected: string[] };

export function parseTranscript(text: string): Item[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const items: Item[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      items.push({ kind: 'text', lines: [line] });
      i++;
      continue;
    }
    const start = i + 1;
    const commands: string[] = [];
    while (i < lines.length && lines[i] !== '----') {
      if ((lines[i] as string).trim() === '') throw new Error(`line ${i + 1}: blank line inside commands (missing ----)`);
      commands.push(lines[i] as string);
      i++;
    }
    if (i >= lines.length) throw new Error(`line ${start}: case without ----`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== '') {
      expected.push(lines[i] as string);
      i++;
    }
    items.push({ kind: 'case', line: start, commands, expected });
  }
  return items;
}

export function renderTranscript(items: readonly Item[], outputs: ReadonlyMap<Item, string[]>): string {
  const out: string[] = [];
  for (const item of items) {
    if (item.kind === 'text') out.push(...item.lines);
    else out.push(...item.commands, '----', ...(outputs.get(item) ?? item.expected));
  }
  return out.join('\n') + '\n';
}

interface Args {
  readonly positional: string[];
  readonly named: Map<string, string>;
}

function parseArgs(words: readonly string[]): Args {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) named.set(w.slice(0, eq), w.slice(eq + 1));
    else positional.push(w);
  }
  return { positional, named };
}

function ids(list: string | undefined): string[] {
  return list === undefined || list === '' ? [] : list.split(',');
}

/** Drives a Network through transcript commands and renders what they produce. */
export class TranscriptRunner {
  private net: Network | undefined;

  private get network(): Network {
    if (this.net === undefined) throw new Error('no cluster: start with `cluster voters=...`');
    return this.net;
  }

  runCase(commands: readonly string[]): string[] {
    const out: string[] = [];
    for (const cmd of commands) {
      const words = cmd.trim().split(/\s+/);
      const name = words[0] as string;
      out.push(...this.run(name, parseArgs(words.slice(1))));
    }
    return out.length === 0 ? ['ok'] : out;
  }

  private run(name: string, args: Args): string[] {
    const p = args.positional;
    const arg = (i: number): string => {
      const v = p[i];
      if (v === undefined) throw new Error(`${name}: missing argument ${i + 1}`);
      return v;
    };
    switch (name) {
      case 'cluster':
        this.net = new Network(clusterOptions(args));
        return [];
      case 'add-node':
        this.network.addNode(nodeId(arg(0)));
        return [];
      case 'campaign':
        this.network.node(arg(0)).raft.campaign();
        return [];
      case 'tick': {
        const count = Number(p[1] ?? '1');
        for (let i = 0; i < count; i++) this.network.node(arg(0)).raft.tick();
        return [];
      }
      case 'tick-all':
        this.network.tickAll(Number(p[0] ?? '1'));
        return [];
      case 'run':
        // Each round: every node ticks once, then the network stabilizes.
        for (let i = 0; i < Number(p[0] ?? '1'); i++) {
          this.network.tickAll(1);
          this.network.stabilize();
        }
        return [];
      case 'propose':
        return dropped(() => this.network.node(arg(0)).raft.propose(utf8(arg(1))));
      case 'propose-conf-change':
        return dropped(() =>
          this.network.node(arg(0)).raft.proposeConfChange({ type: arg(1) as ConfChangeType, nodeId: nodeId(arg(2)), context: new Uint8Array(0) }),
        );
      case 'read-index':
        return dropped(() => this.network.node(arg(0)).raft.readIndex(utf8(arg(1))));
      case 'transfer-leader':
        this.network.node(arg(0)).raft.transferLeader(nodeId(arg(1)));
        return [];
      case 'report-unreachable':
        this.network.node(arg(0)).raft.reportUnreachable(nodeId(arg(1)));
        return [];
      case 'compact':
        this.network.node(arg(0)).compact(Number(arg(1)));
        return [];
      case 'restart':
        this.network.node(arg(0)).restart();
        return [];
      default:
        return this.runNetworkCommand(name, args);
    }
  }

  private runNetworkCommand(name: string, args: Args): string[] {
    const net = this.network;
    const p = args.positional;
    switch (name) {
      case 'partition':
        net.partition(p.join(' ').split('|').map((g) => g.trim().split(/\s+/).map(nodeId)));
        return [];
      case 'isolate':
        net.isolate(nodeId(p[0] ?? ''));
        return [];
      case 'heal':
        net.heal();
        return [];
      case 'process':
        for (const id of p.length > 0 ? p : [...net.nodes.keys()]) net.pending.push(...net.node(id).processReady());
        return [];
      case 'deliver': {
        net.processAll();
        const r = net.deliver(messageFilter(args));
        return [...r.delivered.map(formatMessage), ...r.dropped.map((m) => `dropped: ${formatMessage(m)}`)];
      }
      case 'drop': {
        net.processAll();
        const f = messageFilter(args);
        const gone = net.pending.filter(f);
        net.pending = net.pending.filter((m) => !f(m));
        return gone.map((m) => `dropped: ${formatMessage(m)}`);
      }
      case 'msgs':
        net.processAll();
        return net.pending.map(formatMessage);
      case 'stabilize': {
        const r = net.stabilize();
        if (!p.includes('v')) return [];
        return [...r.delivered.map(formatMessage), ...r.dropped.map((m) => `dropped: ${formatMessage(m)}`)];
      }
      default:
        return this.runQuery(name, args);
    }
  }

  private runQuery(name: string, args: Args): string[] {
    const net = this.network;
    const p = args.positional;
    const which = (): NodeId[] => (p.length > 0 ? p.map(nodeId) : [...net.nodes.keys()]);
    switch (name) {
      case 'status':
        return which().map((id) => formatStatus(net, id));
      case 'log':
        return which().map((id) => formatLog(net, id));
      case 'applied':
        return which().map((id) => {
          const n = net.node(id);
          const snap = n.restoredFrom === undefined ? [] : [`snapshot ${n.restoredFrom}`];
          return `${id}: ${[...snap, ...n.applied.map(formatEntry)].join(', ')}`;
        });
      case 'read-states':
        net.processAll();
        return which().flatMap((id) => {
          const n = net.node(id);
          const lines = n.readStates.map((rs) => `${id}: read ${fromUtf8(rs.requestCtx)} at index ${rs.index}`);
          n.readStates.length = 0;
          return lines.length > 0 ? lines : [`${id}: no read states`];
        });
      case 'progress': {
        const st = net.node(p[0] ?? '').raft.status();
        return [...st.progress].map(
          ([id, pr]) => `${id}: ${pr.state} match=${pr.match} next=${pr.next}${pr.isLearner ? ' learner' : ''}${pr.inflight > 0 ? ` inflight=${pr.inflight}` : ''}${pr.pendingSnapshot > 0 ? ` pendingSnapshot=${pr.pendingSnapshot}` : ''}`,
        );
      }
      case 'config':
        return which().map((id) => {
          const c = net.node(id).raft.status().config;
          return `${id}: voters=${c.voters.join(',')} learners=${c.learners.join(',')}`;
        });
      default:
        throw new Error(`unknown command ${name}`);
    }
  }
}

function clusterOptions(args: Args): NetworkOptions {
  const n = args.named;
  const num = (k: string): number | undefined => (n.has(k) ? Number(n.get(k)) : undefined);
  const opts: Record<string, unknown> = {
    voters: ids(n.get('voters')),
    learners: ids(n.get('learners')),
    preVote: args.positional.includes('prevote'),
    checkQuorum: args.positional.includes('checkquorum'),
  };
  const mapping: [string, string][] = [
    ['election', 'electionTicks'],
    ['heartbeat', 'heartbeatTicks'],
    ['inflight', 'maxInflightMsgs'],
    ['maxbytes', 'maxSizePerMsgBytes'],
    ['seed', 'seed'],
  ];
  for (const [key, field] of mapping) {
    const v = num(key);
    if (v !== undefined) opts[field] = v;
  }
  return opts as unknown as NetworkOptions;
}

function messageFilter(args: Args): (m: Message) => boolean {
  const from = args.named.get('from');
  const to = args.named.get('to');
  const type = args.named.get('type');
  return (m) => (from === undefined || m.from === from) && (to === undefined || m.to === to) && (type === undefined || m.type === type);
}

function dropped(action: () => void): string[] {
  try {
    action();
    return [];
  } catch (e) {
    if (e instanceof ProposalDropped) return ['dropped'];
    throw e;
  }
}

function formatStatus(net: Network, id: NodeId): string {
  const s = net.node(id).raft.status();
  const parts = [`${id}: ${s.role} term=${s.term} lead=${s.leader || '-'} vote=${s.vote || '-'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex}`];
  if (s.leadTransferee !== '') parts.push(`transferee=${s.leadTransferee}`);
  return parts.join(' ');
}

function formatLog(net: Network, id: NodeId): string {
  const n = net.node(id);
  const st = n.raft.status();
  const first = n.storage.firstIndex();
  const ents: string[] = [];
  for (let i = first; i <= st.lastIndex; i++) ents.push(`${n.raft.logTerm(i) ?? '?'}/${i}`);
  const snap = n.storage.snapshot().meta;
  const prefix = snap.index > 0 ? `snap=${snap.term}/${snap.index} ` : '';
  return `${id}: ${prefix}[${ents.join(' ')}] commit=${st.commit}`;
}
