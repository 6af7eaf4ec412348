import { EtcdError, etcdError } from '../api/errors.js';
import type { EtcdErrorSpec } from '../api/errors.js';
import { AuthStore, SimpleTokenProvider } from '../auth/index.js';
import type { TokenProvider } from '../auth/index.js';
import type { Clock, TimerHandle } from '../env/index.js';
import { Lessor, decodeLeaseRecord, encodeLeaseRecord, leaseRecordKey } from '../lease/index.js';
import type { LeaseRecord, LessorOptions } from '../lease/index.js';
import { MvccStore, txnHasWrites } from '../mvcc/index.js';
import type { Backend, TxnRequest } from '../mvcc/index.js';
import { MvccWatchHistory, WatchHub, connectHubToStore } from '../watch/index.js';
import type { WatchHubOptions } from '../watch/index.js';
import { assert } from '../util/assert.js';
import { utf8 } from '../util/bytes.js';
import { applyAuthRequest, checkAppliedRequest } from './auth-apply.js';
import { decodePayload, encodePayload } from './codec.js';
import type { AlarmMember, AlarmRequest, InternalRequest, LeaseCheckpointRequest, LeaseGrantRequest } from './requests.js';

/** The result handed to the proposer: a response, or the etcd error the request earned. */
export type ApplyResult = { readonly ok: true; readonly response: unknown } | { readonly ok: false; readonly error: EtcdErrorSpec };

const ALARMS_KEY = utf8('alarms');
/** Lease records live in the meta bucket under this prefix, so they ride in every snapshot. */
const LEASE_PREFIX = utf8('lease/');

export interface ApplierOptions {
  /** Local time for lease expiry bookkeeping; never decides what is applied. */
  readonly clock: Clock;
  readonly maxTxnOps?: number;
  readonly lessor?: Omit<LessorOptions, 'persistence'>;
  readonly watch?: WatchHubOptions;
  /**
   * How long applied entries may sit in an open backend batch before a durable commit (etcd's
   * --backend-batch-interval, 100 ms). 0 commits at every flush(). Safe because the WAL is the
   * durable record: the consistent index commits with the state, and a crash replays every entry
   * after it. Takes the backend's fsync off each write's critical path.
   */
  readonly batchIntervalMs?: number;
  /** Entries after which the batch commits regardless of time (etcd's --backend-batch-limit). */
  readonly batchLimitEntries?: number;
  /** Issues and resolves auth tokens (default: etcd's simple tokens with a 300 s TTL). */
  readonly tokenProvider?: TokenProvider;
}

function leaseMetaKey(id: bigint): Uint8Array {
  const key = new Uint8Array(LEASE_PREFIX.length + 8);
  key.set(LEASE_PREFIX);
  key.set(leaseRecordKey(id), LEASE_PREFIX.length);
  return key;
}

/**
 * The single deterministic writer of state: committed entry -> mvcc (and, as they land,
 * leases, auth and membership). Every member applies the same entries in the same order to the
 * same result. Applied entries share one backend batch until flush(), which the node loop
 * calls once per Ready: many requests, one durable commit. The consistent index goes into the
 * same batch, so a crash replays each entry exactly once.
 */
export class Applier {
  private alarms: AlarmMember[];
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly watchHub: WatchHub;
  /** Users, roles, permissions: state in the meta bucket, applied like everything else. */
  readonly auth: AuthStore;
  /** Local (not replicated) token bookkeeping; tokens are assigned when Authenticate applies. */
  readonly tokens: TokenProvider;
  private readonly clock: Clock;
  private readonly batchIntervalMs: number;
  private readonly batchLimitEntries: number;
  private entriesInBatch = 0;
  private batchOpenedMs = 0;
  private commitTimer: TimerHandle | undefined;

  constructor(backend: Backend, options: ApplierOptions) {
    this.clock = options.clock;
    this.batchIntervalMs = options.batchIntervalMs ?? 0;
    this.batchLimitEntries = options.batchLimitEntries ?? 10_000;
    // The lessor exists before the store so the store can ask it whether a lease exists.
    const lessor = new Lessor({
      ...options.lessor,
      persistence: {
        saveLease: (record) => this.store.putMeta(leaseMetaKey(record.id), encodeLeaseRecord(record)),
        deleteLease: (id) => this.store.deleteMeta(leaseMetaKey(id)),
      },
    });
    this.lessor = lessor;
    const storeOptions = { leaseExists: (id: bigint) => lessor.has(id), ...(options.maxTxnOps === undefined ? {} : { maxTxnOps: options.maxTxnOps }) };
    this.store = MvccStore.open(backend, storeOptions);
    this.store.onLeaseEvent((e) => lessor.onLeaseEvent(e));
    const history = new MvccWatchHistory(this.store, backend);
    this.watchHub = new WatchHub(history, options.watch ?? {});
    connectHubToStore(this.store, history, this.watchHub);
    this.recoverLeases();
    this.alarms = this.loadAlarms();
    this.tokens = options.tokenProvider ?? new SimpleTokenProvider();
    const store = this.store;
    this.auth = new AuthStore({ get: (key) => store.getMeta(key), put: (key, value) => store.putMeta(key, value) });
    const tokens = this.tokens;
    this.auth.setListener({ invalidateUser: (name) => tokens.invalidateUser(name), enabled: () => tokens.enable(), disabled: () => tokens.disable() });
    if (this.auth.isEnabled()) tokens.enable();
  }

  appliedIndex(): number {
    return this.store.consistentIndex();
  }

  apply(index: number, term: number, payload: Uint8Array): ApplyResult {
    this.openBatch();
    const request = decodePayload<InternalRequest>(payload);
    let result: ApplyResult;
    try {
      checkAppliedRequest(this.auth, this.lessor, request);
      result = { ok: true, response: this.execute(request, index) };
    } catch (error) {
      // Request errors (compacted revision, duplicate key, ...) are answers, not failures:
      // every member reaches the same one, and nothing of the request was written.
      if (!(error instanceof EtcdError)) throw error;
      result = { ok: false, error: { code: error.code, message: error.message } };
    }
    this.store.setConsistentIndex(index, term);
    return result;
  }

  applyEmpty(index: number, term: number): void {
    this.openBatch();
    this.store.setConsistentIndex(index, term);
  }

  /** Called once per Ready: commits now, or leaves the batch open for up to batchIntervalMs. */
  flush(): void {
    if (!this.store.inBatch()) return;
    const dueMs = this.batchOpenedMs + this.batchIntervalMs;
    if (this.batchIntervalMs === 0 || this.entriesInBatch >= this.batchLimitEntries || this.clock.nowMs() >= dueMs) {
      this.commitNow();
      return;
    }
    if (this.commitTimer === undefined) {
      this.commitTimer = this.clock.setTimer(Math.max(1, dueMs - this.clock.nowMs()), () => {
        this.commitTimer = undefined;
        this.commitNow();
      });
    }
  }

  /** Commits the open batch durably (before a snapshot, a restore, or shutdown). */
  commitNow(): void {
    if (this.commitTimer !== undefined) {
      this.clock.clearTimer(this.commitTimer);
      this.commitTimer = undefined;
    }
    if (this.store.inBatch()) this.store.commitBatch();
    this.entriesInBatch = 0;
  }

  snapshot(): Uint8Array {
    this.commitNow();
    return this.store.snapshotBytes();
  }

  restore(index: number, term: number, data: Uint8Array): void {
    this.commitNow();
    this.store.restoreFrom(data);
    assert(this.store.consistentIndex() === index, () => `snapshot holds consistent index ${this.store.consistentIndex()}, expected ${index}`);
    assert(this.store.consistentTerm() <= term, () => `snapshot term ${this.store.consistentTerm()} beyond ${term}`);
    this.recoverLeases();
    this.watchHub.restore();
    this.alarms = this.loadAlarms();
    this.auth.reload();
    if (this.auth.isEnabled()) this.tokens.enable();
    else this.tokens.disable();
  }

  activeAlarms(): readonly AlarmMember[] {
    return this.alarms;
  }

  private openBatch(): void {
    if (!this.store.inBatch()) {
      this.store.beginBatch();
      this.batchOpenedMs = this.clock.nowMs();
    }
    this.entriesInBatch++;
  }

  private execute(request: InternalRequest, index: number): unknown {
    if ('put' in request) {
      this.refuseWhenNoSpace();
      return this.store.put(request.put);
    }
    if ('deleteRange' in request) return this.store.deleteRange(request.deleteRange);
    if ('txn' in request) {
      // As etcd's capped applier: with NOSPACE raised, only txns without puts go through.
      if (txnHasPuts(request.txn)) this.refuseWhenNoSpace();
      return this.store.txn(request.txn);
    }
    if ('compaction' in request) return this.store.compact(request.compaction);
    if ('alarm' in request) return this.applyAlarm(request.alarm);
    if ('leaseGrant' in request) return this.applyLeaseGrant(request.leaseGrant);
    if ('leaseRevoke' in request) return this.applyLeaseRevoke(request.leaseRevoke.id);
    if ('leaseCheckpoint' in request) return this.applyLeaseCheckpoint(request.leaseCheckpoint);
    if ('auth' in request) return applyAuthRequest(this.auth, this.tokens, request.auth, { index, nowMs: this.clock.nowMs() });
    throw etcdError('NotCapable');
  }

  private applyLeaseGrant(request: LeaseGrantRequest): { id: bigint; ttlSeconds: number; revision: number } {
    if (this.lessor.has(request.id)) throw etcdError('LeaseExist');
    const info = this.lessor.grant(request.id, request.ttlSeconds, this.clock.nowMs());
    return { id: info.id, ttlSeconds: info.ttlSeconds, revision: this.store.rev() };
  }

  /** Deletes every attached key in ONE mvcc write, so all members delete them at one revision. */
  private applyLeaseRevoke(id: bigint): { revision: number } {
    const keys = this.lessor.revoke(id);
    if (keys.length > 0) this.store.deleteKeys(keys);
    return { revision: this.store.rev() };
  }

  private applyLeaseCheckpoint(request: LeaseCheckpointRequest): { revision: number } {
    const nowMs = this.clock.nowMs();
    for (const c of request.checkpoints) {
      if (this.lessor.has(c.id)) this.lessor.applyCheckpoint(c.id, c.remainingTtlSeconds, nowMs);
    }
    return { revision: this.store.rev() };
  }

  private refuseWhenNoSpace(): void {
    if (this.alarms.some((a) => a.alarm === 'NOSPACE')) throw etcdError('NoSpace');
  }

  private applyAlarm(request: AlarmRequest): AlarmMember[] {
    const same = (a: AlarmMember): boolean => a.memberId === request.memberId && a.alarm === request.alarm;
    const had = this.alarms.filter(same);
    if (request.action === 'activate' && had.length === 0) {
      this.alarms = [...this.alarms, { memberId: request.memberId, alarm: request.alarm }];
    } else if (request.action === 'deactivate') {
      this.alarms = this.alarms.filter((a) => !same(a));
    }
    this.store.putMeta(ALARMS_KEY, encodePayload(this.alarms));
    return request.action === 'activate' ? [{ memberId: request.memberId, alarm: request.alarm }] : had;
  }

  private recoverLeases(): void {
    const records: LeaseRecord[] = [];
    this.store.forEachMeta(LEASE_PREFIX, (_key, value) => records.push(decodeLeaseRecord(value)));
    this.lessor.recover(records, this.store.leasedKeys());
  }

  private loadAlarms(): AlarmMember[] {
    const bytes = this.store.getMeta(ALARMS_KEY);
    return bytes === undefined ? [] : decodePayload<AlarmMember[]>(bytes);
  }
}

function txnHasPuts(txn: TxnRequest): boolean {
  if (!txnHasWrites(txn)) return false;
  const ops = [...(txn.success ?? []), ...(txn.failure ?? [])];
  return ops.some((op) => 'requestPut' in op || ('requestTxn' in op && txnHasPuts(op.requestTxn)));
}

