/**
 * The simulated network between nodes: unreliable, unordered message delivery on virtual time.
 *
 * Every message sent goes through an ordered list of rules. Each rule returns a verdict:
 * - pass: no opinion, the next rule decides;
 * - drop: the message is lost (terminal);
 * - deliver: deliver after `delayMs` (terminal; replaces the base latency);
 * - delay: add `extraMs` to the delivery time and go on (slow links, reordering);
 * - duplicate: deliver one more copy, `extraMs` after the original, and go on.
 * If no rule says deliver, the base latency (uniform in [latencyMsMin, latencyMsMax]) applies.
 * Rules are either 'base' (the seed's steady network: loss, duplication, reordering) or 'fault'
 * (partitions, isolation, bridges, slow links), and heal() removes every fault rule. Cuts
 * (partitions, one-way, isolation, bridges) are checked again on arrival, so a partition also
 * drops messages already in flight; a message held for a paused node is past the cut (it sits
 * in the receiver's socket buffer) and is not checked again.
 *
 * Node processes, because the network is where a process's death or stall shows first:
 * - crashed: messages to it are dropped, including those already in flight (its TCP connections
 *   died with it); what it sent before dying still arrives (the kernel had it). A restarted node
 *   gets a fresh transport; the old one's sends are dropped, so a dropped node cannot speak.
 * - paused: messages to it are held (its socket buffers still fill) and delivered, in arrival
 *   order, on resume(). Its own sends are accepted: a Promise chain that was mid-flight when the
 *   pause event ran may still send, as if just before the pause.
 *
 * All draws come from the SeededRand given to the constructor, which should be a fork of its own
 * ('net'), so the network's randomness never reshuffles other components.
 */
import { assert } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { Transport } from '../src/env/index.js';
import type { SimLoop } from './loop.js';

export type LinkVerdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'drop'; readonly reason: string }
  | { readonly kind: 'deliver'; readonly delayMs: number }
  | { readonly kind: 'delay'; readonly extraMs: number }
  | { readonly kind: 'duplicate'; readonly extraMs: number };

export interface LinkContext<M> {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: M;
  readonly nowMs: number;
  readonly rand: SeededRand;
}

export type RuleCategory = 'base' | 'fault';

export interface NetRule<M = unknown> {
  /** Shown in stats and reports, e.g. 'partition n1,n2|n3'. */
  readonly name: string;
  readonly category: RuleCategory;
  decide(ctx: LinkContext<M>): LinkVerdict;
  /**
   * For cuts (partitions, isolation): whether the link is cut now. Checked again when a message
   * arrives, so a cut also drops what was already in flight, as a firewall rule does. Must not
   * draw randomness.
   */
  cuts?(from: NodeId, to: NodeId): boolean;
}

export interface SimNetworkOptions<M> {
  readonly latencyMsMin?: number;
  readonly latencyMsMax?: number;
  /** Installed as base rules, in this order: loss, duplication, reordering. */
  readonly lossRate?: number;
  readonly duplicateRate?: number;
  readonly duplicateExtraMsMax?: number;
  readonly reorderRate?: number;
  readonly reorderExtraMsMax?: number;
  /**
   * Which messages the network may duplicate (default: all). A transport over one TCP or HTTP/2
   * stream never duplicates; a datagram network may. Lets a user model what its real transport does.
   */
  readonly duplicable?: (message: M) => boolean;
  /** Copies a message at send time, if senders may mutate what they sent. */
  readonly clone?: (message: M) => M;
  /** One-line description of a message for the trace log. */
  readonly describe?: (message: M) => string;
}

export type NodeProcessState = 'up' | 'paused' | 'crashed';

export interface NetworkStats {
  sent: number;
  delivered: number;
  duplicated: number;
  /** Messages held for a paused node (counted when held). */
  held: number;
  /** Dropped messages by reason: 'loss', a fault rule's name, 'target crashed', ... */
  readonly dropped: Map<string, number>;
}

interface NodeSlot<M> {
  state: NodeProcessState;
  incarnation: number;
  handler: ((from: NodeId, message: M) => void) | undefined;
  held: Array<{ from: NodeId; message: M }>;
}

const PASS: LinkVerdict = { kind: 'pass' };

export class SimNetwork<M> {
  private readonly nodes = new Map<NodeId, NodeSlot<M>>();
  private ruleList: Array<{ id: number; rule: NetRule<M> }> = [];
  private nextRuleId = 1;
  private readonly latencyMsMin: number;
  private readonly latencyMsMax: number;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, duplicated: 0, held: 0, dropped: new Map() };

  constructor(
    private readonly loop: SimLoop,
    private readonly rand: SeededRand,
    private readonly options: SimNetworkOptions<M> = {},
  ) {
    this.latencyMsMin = options.latencyMsMin ?? 1;
    this.latencyMsMax = options.latencyMsMax ?? this.latencyMsMin;
    assert(Number.isInteger(this.latencyMsMin) && this.latencyMsMin >= 0, 'latencyMsMin must be a non-negative integer');
    assert(Number.isInteger(this.latencyMsMax) && this.latencyMsMax >= this.latencyMsMin, 'latencyMsMax must be an integer >= latencyMsMin');
    if ((options.lossRate ?? 0) > 0) this.addRule(lossRule(options.lossRate ?? 0));
    if ((options.duplicateRate ?? 0) > 0) this.addRule(duplicateRule<M>(options.duplicateRate ?? 0, options.duplicateExtraMsMax ?? this.latencyMsMax, options.duplicable));
    if ((options.reorderRate ?? 0) > 0) this.addRule(reorderRule(options.reorderRate ?? 0, options.reorderExtraMsMax ?? this.latencyMsMax * 4));
  }

  /** Node `id`'s transport for its current incarnation (registers the node on first use). */
  transport(id: NodeId): Transport<M> {
    const slot = this.slot(id);
    assert(slot.state !== 'crashed', () => `transport(${id}): node is crashed; restart() it first`);
    const incarnation = slot.incarnation;
    return {
      send: (to, message) => {
        if (slot.incarnation !== incarnation || slot.state === 'crashed') return this.drop('sender crashed');
        this.send(id, to, message);
      },
      onReceive: (handler) => {
        if (slot.incarnation !== incarnation) return;
        assert(slot.handler === undefined, () => `onReceive(${id}): a handler is already registered`);
        slot.handler = handler;
      },
    };
  }

  state(id: NodeId): NodeProcessState {
    return this.slot(id).state;
  }

  crash(id: NodeId): void {
    const slot = this.slot(id);
    slot.state = 'crashed';
    slot.incarnation++;
    slot.handler = undefined;
    for (let i = 0; i < slot.held.length; i++) this.drop('target crashed');
    slot.held = [];
  }

  restart(id: NodeId): void {
    const slot = this.slot(id);
    assert(slot.state === 'crashed', () => `restart(${id}): node is ${slot.state}`);
    slot.state = 'up';
  }

  pause(id: NodeId): void {
    const slot = this.slot(id);
    assert(slot.state === 'up', () => `pause(${id}): node is ${slot.state}`);
    slot.state = 'paused';
  }

  resume(id: NodeId): void {
    const slot = this.slot(id);
    assert(slot.state === 'paused', () => `resume(${id}): node is ${slot.state}`);
    slot.state = 'up';
    const held = slot.held;
    slot.held = [];
    const incarnation = slot.incarnation;
    for (const { from, message } of held) {
      this.loop.after(0, 'deliver', id, () => this.arrive(from, id, incarnation, message, true), () => this.detail(from, id, message, 'held'));
    }
  }

  addRule(rule: NetRule<M>): number {
    const id = this.nextRuleId++;
    this.ruleList.push({ id, rule });
    return id;
  }

  removeRule(id: number): boolean {
    const before = this.ruleList.length;
    this.ruleList = this.ruleList.filter((r) => r.id !== id);
    return this.ruleList.length < before;
  }

  rules(): readonly NetRule<M>[] {
    return this.ruleList.map((r) => r.rule);
  }

  /** Symmetric partition: messages pass only between nodes sharing a group. */
  partition(groups: readonly (readonly NodeId[])[]): number {
    return this.addRule(partitionRule(groups));
  }

  /** Messages from any of `from` to any of `to` are dropped; the other direction still works. */
  partitionOneWay(from: readonly NodeId[], to: readonly NodeId[]): number {
    return this.addRule(oneWayRule(from, to));
  }

  isolate(node: NodeId): number {
    return this.addRule(isolateRule(node));
  }

  /** Two sides that cannot talk, except through `bridgeNode`, which talks to both. */
  bridge(sideA: readonly NodeId[], sideB: readonly NodeId[], bridgeNode: NodeId): number {
    return this.addRule(bridgeRule(sideA, sideB, bridgeNode));
  }

  slowLink(a: NodeId, b: NodeId, extraMs: number, bothWays = true): number {
    return this.addRule(slowLinkRule(a, b, extraMs, bothWays));
  }

  /** Removes every fault rule; base rules (the seed's steady loss, duplication...) stay. */
  heal(): void {
    this.ruleList = this.ruleList.filter((r) => r.rule.category !== 'fault');
  }

  clearRules(): void {
    this.ruleList = [];
  }

  droppedCount(): number {
    let total = 0;
    for (const n of this.stats.dropped.values()) total += n;
    return total;
  }

  private slot(id: NodeId): NodeSlot<M> {
    let slot = this.nodes.get(id);
    if (slot === undefined) {
      slot = { state: 'up', incarnation: 0, handler: undefined, held: [] };
      this.nodes.set(id, slot);
    }
    return slot;
  }

  private drop(reason: string): void {
    this.stats.dropped.set(reason, (this.stats.dropped.get(reason) ?? 0) + 1);
  }

  private send(from: NodeId, to: NodeId, original: M): void {
    this.stats.sent++;
    const target = this.nodes.get(to);
    if (target === undefined) return this.drop('unknown node');
    const message = this.options.clone === undefined ? original : this.options.clone(original);
    const ctx: LinkContext<M> = { from, to, message, nowMs: this.loop.nowMs, rand: this.rand };
    let baseMs: number | undefined;
    let extraMs = 0;
    const copiesExtraMs: number[] = [];
    for (const { rule } of this.ruleList) {
      const verdict = rule.decide(ctx);
      if (verdict.kind === 'pass') continue;
      if (verdict.kind === 'drop') return this.drop(verdict.reason);
      if (verdict.kind === 'deliver') {
        baseMs = verdict.delayMs;
        break;
      }
      if (verdict.kind === 'delay') extraMs += verdict.extraMs;
      else copiesExtraMs.push(verdict.extraMs);
    }
    baseMs ??= this.rand.between(this.latencyMsMin, this.latencyMsMax);
    const incarnation = target.incarnation;
    this.schedule(from, to, incarnation, message, baseMs + extraMs, 'deliver');
    for (const copyMs of copiesExtraMs) {
      this.stats.duplicated++;
      const copy = this.options.clone === undefined ? message : this.options.clone(message);
      this.schedule(from, to, incarnation, copy, baseMs + extraMs + copyMs, 'deliver-dup');
    }
  }

  private schedule(from: NodeId, to: NodeId, incarnation: number, message: M, delayMs: number, why: string): void {
    assert(Number.isInteger(delayMs) && delayMs >= 0, () => `network: bad delay ${delayMs} for ${from}->${to}`);
    this.loop.after(delayMs, 'deliver', to, () => this.arrive(from, to, incarnation, message), () => this.detail(from, to, message, why));
  }

  /** `buffered`: the message already reached the receiver's socket buffer, past any cut. */
  private arrive(from: NodeId, to: NodeId, incarnation: number, message: M, buffered = false): void {
    const slot = this.slot(to);
    if (slot.state === 'crashed') return this.drop('target crashed');
    if (slot.incarnation !== incarnation) return this.drop('target restarted');
    if (!buffered) for (const { rule } of this.ruleList) if (rule.cuts?.(from, to) === true) return this.drop(`${rule.name} (in flight)`);
    if (slot.state === 'paused') {
      this.stats.held++;
      slot.held.push({ from, message });
      return;
    }
    if (slot.handler === undefined) return this.drop('no receiver');
    this.stats.delivered++;
    slot.handler(from, message);
  }

  private detail(from: NodeId, to: NodeId, message: M, why: string): string {
    const what = this.options.describe === undefined ? '' : ' ' + this.options.describe(message);
    return `${why} ${from}->${to}${what}`;
  }
}

// ---- built-in rules -------------------------------------------------------------------------

function checkRate(rate: number, what: string): void {
  assert(rate >= 0 && rate <= 1, () => `${what}: rate ${rate} out of [0, 1]`);
}

export function lossRule(rate: number): NetRule {
  checkRate(rate, 'lossRule');
  const drop: LinkVerdict = { kind: 'drop', reason: 'loss' };
  return { name: `loss ${rate}`, category: 'base', decide: (c) => (c.rand.chance(rate) ? drop : PASS) };
}

export function duplicateRule<M = unknown>(rate: number, extraMsMax: number, duplicable: (message: M) => boolean = () => true): NetRule<M> {
  checkRate(rate, 'duplicateRule');
  return {
    name: `duplicate ${rate} +${extraMsMax}ms`,
    category: 'base',
    decide: (c) => (duplicable(c.message) && c.rand.chance(rate) ? { kind: 'duplicate', extraMs: c.rand.between(0, extraMsMax) } : PASS),
  };
}

/** With probability `rate`, a random extra delay, so the message overtakes or is overtaken. */
export function reorderRule(rate: number, extraMsMax: number): NetRule {
  checkRate(rate, 'reorderRule');
  return {
    name: `reorder ${rate} +${extraMsMax}ms`,
    category: 'base',
    decide: (c) => (c.rand.chance(rate) ? { kind: 'delay', extraMs: c.rand.between(1, Math.max(1, extraMsMax)) } : PASS),
  };
}

/** Terminal latency: deliver after a uniform delay in [minMs, maxMs]. */
export function latencyRule(minMs: number, maxMs: number, category: RuleCategory = 'base'): NetRule {
  assert(Number.isInteger(minMs) && Number.isInteger(maxMs) && 0 <= minMs && minMs <= maxMs, 'latencyRule: bad range');
  return { name: `latency ${minMs}-${maxMs}ms`, category, decide: (c) => ({ kind: 'deliver', delayMs: c.rand.between(minMs, maxMs) }) };
}

export function partitionRule(groups: readonly (readonly NodeId[])[], ruleName?: string): NetRule {
  const groupsOf = new Map<NodeId, Set<number>>();
  groups.forEach((group, i) => {
    for (const node of group) {
      const set = groupsOf.get(node) ?? new Set<number>();
      set.add(i);
      groupsOf.set(node, set);
    }
  });
  const name = ruleName ?? `partition ${groups.map((g) => g.join(',')).join('|')}`;
  const drop: LinkVerdict = { kind: 'drop', reason: name };
  const cuts = (from: NodeId, to: NodeId): boolean => {
    if (from === to) return false;
    const a = groupsOf.get(from);
    const b = groupsOf.get(to);
    if (a !== undefined && b !== undefined) for (const g of a) if (b.has(g)) return false;
    return true;
  };
  return { name, category: 'fault', decide: (c) => (cuts(c.from, c.to) ? drop : PASS), cuts };
}

export function oneWayRule(from: readonly NodeId[], to: readonly NodeId[]): NetRule {
  const senders = new Set(from);
  const receivers = new Set(to);
  const name = `one-way ${from.join(',')}->${to.join(',')}`;
  const drop: LinkVerdict = { kind: 'drop', reason: name };
  const cuts = (a: NodeId, b: NodeId): boolean => a !== b && senders.has(a) && receivers.has(b);
  return { name, category: 'fault', decide: (c) => (cuts(c.from, c.to) ? drop : PASS), cuts };
}

export function isolateRule(node: NodeId): NetRule {
  const name = `isolate ${node}`;
  const drop: LinkVerdict = { kind: 'drop', reason: name };
  const cuts = (a: NodeId, b: NodeId): boolean => a !== b && (a === node || b === node);
  return { name, category: 'fault', decide: (c) => (cuts(c.from, c.to) ? drop : PASS), cuts };
}

export function bridgeRule(sideA: readonly NodeId[], sideB: readonly NodeId[], bridgeNode: NodeId): NetRule {
  const groups = [
    [...sideA.filter((n) => n !== bridgeNode), bridgeNode],
    [...sideB.filter((n) => n !== bridgeNode), bridgeNode],
  ];
  return partitionRule(groups, `bridge ${sideA.join(',')}|${sideB.join(',')} via ${bridgeNode}`);
}

export function slowLinkRule(a: NodeId, b: NodeId, extraMs: number, bothWays = true): NetRule {
  assert(Number.isInteger(extraMs) && extraMs >= 0, 'slowLinkRule: extraMs must be a non-negative integer');
  const slow: LinkVerdict = { kind: 'delay', extraMs };
  const name = `slow ${a}${bothWays ? '<->' : '->'}${b} +${extraMs}ms`;
  return {
    name,
    category: 'fault',
    decide: (c) => ((c.from === a && c.to === b) || (bothWays && c.from === b && c.to === a) ? slow : PASS),
  };
}

/**
 * With probability `prob`, messages `match` accepts are held `delayMsMin`-`delayMsMax` ms more
 * (a lagging stream of their own, as etcd's snapshot connection). A base rule: heal() keeps it.
 */
export function delayMatchingRule<M>(what: string, match: (message: M) => boolean, prob: number, delayMsMin: number, delayMsMax: number): NetRule<M> {
  checkRate(prob, 'delayMatchingRule');
  assert(Number.isInteger(delayMsMin) && Number.isInteger(delayMsMax) && 0 <= delayMsMin && delayMsMin <= delayMsMax, 'delayMatchingRule: bad range');
  return {
    name: `delay ${what} ${prob} +${delayMsMin}-${delayMsMax}ms`,
    category: 'base',
    decide: (c) => (match(c.message) && c.rand.chance(prob) ? { kind: 'delay', extraMs: c.rand.between(delayMsMin, delayMsMax) } : PASS),
  };
}
