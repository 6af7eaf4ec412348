import type { ConfChange, ConfState } from '../raft/index.js';
import { assert } from '../util/assert.js';
import { fromUtf8, utf8 } from '../util/bytes.js';
import { nodeId, nodeIdFromBigInt, nodeIdToBigInt } from '../util/ids.js';
import type { StateMachine } from './state-machine.js';

/**
 * The member list as replicated state, in the manner of etcd's membership.RaftCluster: every
 * member applies the same confChange entries (whose ConfChange.context carries the member's
 * attributes) and the same attribute/update requests, in log order, to the same list. The list
 * lives in the state machine's meta records, so it is written atomically with the applied index,
 * survives a restart and travels inside Raft snapshots.
 */
export interface Member {
  readonly id: bigint;
  /** Empty until the member has started and published its attributes (etcd: "unstarted"). */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

/** Where the record is kept: the MVCC store's meta bucket (in its batches and snapshots). */
export interface MetaStore {
  getMeta(key: Uint8Array): Uint8Array | undefined;
  putMeta(key: Uint8Array, value: Uint8Array): void;
}

/** A normal-entry request that changes membership without changing Raft's configuration. */
export type MemberRequest =
  | { readonly kind: 'publish'; readonly id: bigint; readonly name: string; readonly clientUrls: readonly string[] }
  | { readonly kind: 'update'; readonly id: bigint; readonly peerUrls: readonly string[] };

export type MembershipEvent =
  | { readonly kind: ConfChange['type']; readonly id: bigint; readonly index: number }
  | { readonly kind: MemberRequest['kind']; readonly id: bigint; readonly index: number };

interface StoredRecord {
  readonly members: readonly StoredMember[];
  readonly removed: readonly string[];
  /** The founding members: every member, including later ones, bootstraps Raft with them. */
  readonly founders: readonly StoredMember[];
}

interface StoredMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

const RECORD_KEY = utf8('membership');
/** Normal entries carrying a MemberRequest start with these bytes (client requests are JSON objects with other keys). */
const REQUEST_PREFIX = utf8('{"memberRequest":');

function toStored(m: Member): StoredMember {
  return { id: nodeIdFromBigInt(m.id), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: m.isLearner };
}

function fromStored(m: StoredMember): Member {
  return { id: nodeIdToBigInt(nodeId(m.id)), name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner };
}

/** ConfChange.context for addNode / addLearner: the new member's attributes. */
export function encodeMemberContext(member: Member): Uint8Array {
  return utf8(JSON.stringify(toStored(member)));
}

export function decodeMemberContext(context: Uint8Array): Member | undefined {
  if (context.length === 0) return undefined;
  const parsed = JSON.parse(fromUtf8(context)) as StoredMember;
  assert(typeof parsed.id === 'string' && Array.isArray(parsed.peerUrls), 'member context is malformed');
  return fromStored(parsed);
}

export function encodeMemberRequest(request: MemberRequest): Uint8Array {
  const body =
    request.kind === 'publish'
      ? { kind: 'publish', id: nodeIdFromBigInt(request.id), name: request.name, clientUrls: [...request.clientUrls] }
      : { kind: 'update', id: nodeIdFromBigInt(request.id), peerUrls: [...request.peerUrls] };
  return utf8(JSON.stringify({ memberRequest: body }));
}

export function isMemberRequest(payload: Uint8Array): boolean {
  if (payload.length < REQUEST_PREFIX.length) return false;
  for (let i = 0; i < REQUEST_PREFIX.length; i++) if (payload[i] !== REQUEST_PREFIX[i]) return false;
  return true;
}

export function decodeMemberRequest(payload: Uint8Array): MemberRequest {
  const { memberRequest: r } = JSON.parse(fromUtf8(payload)) as { memberRequest: Record<string, unknown> };
  const id = nodeIdToBigInt(nodeId(String(r['id'])));
  if (r['kind'] === 'publish') return { kind: 'publish', id, name: String(r['name']), clientUrls: r['clientUrls'] as string[] };
  assert(r['kind'] === 'update', () => `unknown member request ${String(r['kind'])}`);
  return { kind: 'update', id, peerUrls: r['peerUrls'] as string[] };
}

const byId = (a: Member, b: Member): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The replicated member list; mutated only by the apply path (MembershipMachine). */
export class MemberRegistry {
  private members = new Map<bigint, Member>();
  private removed = new Set<bigint>();
  private founders: Member[] = [];
  private readonly listeners = new Set<(event: MembershipEvent) => void>();

  constructor(private readonly meta: MetaStore) {
    this.reload();
  }

  /** True once a record exists (a restarted member, or one that joined and was initialized). */
  isInitialized(): boolean {
    return this.meta.getMeta(RECORD_KEY) !== undefined;
  }

  /**
   * First start of a member: the founding members (from --initial-cluster, or fetched from a
   * peer when joining an existing cluster) and, for a joiner, the current list it fetched.
   */
  initialize(founders: readonly Member[], current: readonly Member[] = founders, removed: readonly bigint[] = []): void {
    assert(!this.isInitialized(), 'membership already initialized');
    assert(founders.length > 0, 'a cluster needs founding members');
    this.founders = [...founders].sort(byId);
    this.members = new Map(current.map((m) => [m.id, m]));
    this.removed = new Set(removed);
    this.persist();
  }

  /** Re-reads the record: after a snapshot replaced the state machine's contents. */
  reload(): void {
    const bytes = this.meta.getMeta(RECORD_KEY);
    if (bytes === undefined) return;
    const record = JSON.parse(fromUtf8(bytes)) as StoredRecord;
    this.members = new Map(record.members.map((m) => [nodeIdToBigInt(nodeId(m.id)), fromStored(m)]));
    this.removed = new Set(record.removed.map((id) => nodeIdToBigInt(nodeId(id))));
    this.founders = record.founders.map(fromStored);
  }

  list(): Member[] {
    return [...this.members.values()].sort(byId);
  }

  get(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  removedIds(): bigint[] {
    return [...this.removed];
  }

  foundingMembers(): readonly Member[] {
    return this.founders;
  }

  /** Subscribes to applied changes; returns the unsubscribe function. */
  onChange(listener: (event: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  applyConfChange(change: ConfChange, index: number): void {
    const id = nodeIdToBigInt(change.nodeId);
    const existing = this.members.get(id);
    switch (change.type) {
      case 'addNode':
      case 'addLearner': {
        const attrs = decodeMemberContext(change.context);
        // The same change may reach a member twice (a joiner starts from the current list).
        const base: Member = existing ?? attrs ?? { id, name: '', peerUrls: [], clientUrls: [], isLearner: false };
        const isLearner = change.type === 'addLearner' ? !(existing && !existing.isLearner) : false;
        if (!this.removed.has(id)) this.members.set(id, { ...base, id, isLearner });
        break;
      }
      case 'promoteLearner':
        if (existing) this.members.set(id, { ...existing, isLearner: false });
        break;
      case 'removeNode':
        this.members.delete(id);
        this.removed.add(id);
        break;
    }
    this.persist();
    this.emit({ kind: change.type, id, index });
  }

  applyRequest(request: MemberRequest, index: number): void {
    const existing = this.members.get(request.id);
    if (existing) {
      this.members.set(
        request.id,
        request.kind === 'publish'
          ? { ...existing, name: request.name, clientUrls: [...request.clientUrls] }
          : { ...existing, peerUrls: [...request.peerUrls] },
      );
      this.persist();
    }
    this.emit({ kind: request.kind, id: request.id, index });
  }

  private persist(): void {
    const record: StoredRecord = {
      members: this.list().map(toStored),
      removed: [...this.removed].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((id) => nodeIdFromBigInt(id)),
      founders: this.founders.map(toStored),
    };
    this.meta.putMeta(RECORD_KEY, utf8(JSON.stringify(record)));
  }

  private emit(event: MembershipEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}

/**
 * Wraps the server's state machine so that membership is applied on the same path as
 * everything else: conf changes and member requests land in the inner machine's open batch
 * (through applyEmpty, which records the applied index) and in the registry's meta record.
 */
export class MembershipMachine<R> implements StateMachine<R> {
  constructor(
    private readonly inner: StateMachine<R>,
    private readonly registry: MemberRegistry,
    /** What the proposer of a member request gets back once it is applied. */
    private readonly requestResult: R,
  ) {}

  appliedIndex(): number {
    return this.inner.appliedIndex();
  }

  apply(index: number, term: number, payload: Uint8Array): R {
    if (!isMemberRequest(payload)) return this.inner.apply(index, term, payload);
    this.inner.applyEmpty(index, term);
    this.registry.applyRequest(decodeMemberRequest(payload), index);
    return this.requestResult;
  }

  applyEmpty(index: number, term: number): void {
    this.inner.applyEmpty(index, term);
  }

  applyConfChange(index: number, term: number, change: ConfChange, _confState: ConfState): void {
    this.inner.applyEmpty(index, term);
    this.registry.applyConfChange(change, index);
  }

  snapshot(): Uint8Array {
    return this.inner.snapshot();
  }

  restore(index: number, term: number, data: Uint8Array): void {
    this.inner.restore(index, term, data);
    this.registry.reload();
  }

  flush(): void {
    this.inner.flush();
  }
}
