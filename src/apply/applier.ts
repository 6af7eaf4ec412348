import { EtcdError, etcdError } from '../api/errors.js';
import type { EtcdErrorSpec } from '../api/errors.js';
import { txnHasWrites } from '../mvcc/index.js';
import type { MvccStore, TxnRequest } from '../mvcc/index.js';
import { assert } from '../util/assert.js';
import { utf8 } from '../util/bytes.js';
import { decodePayload, encodePayload } from './codec.js';
import type { AlarmMember, AlarmRequest, InternalRequest } from './requests.js';

/** The result handed to the proposer: a response, or the etcd error the request earned. */
export type ApplyResult = { readonly ok: true; readonly response: unknown } | { readonly ok: false; readonly error: EtcdErrorSpec };

const ALARMS_KEY = utf8('alarms');

/**
 * The single deterministic writer of state: committed entry -> mvcc (and, as they land,
 * leases, auth and membership). Every member applies the same entries in the same order to the
 * same result. Applied entries share one backend batch until flush(), which the node loop
 * calls once per Ready: many requests, one durable commit. The consistent index goes into the
 * same batch, so a crash replays each entry exactly once.
 */
export class Applier {
  private alarms: AlarmMember[];

  constructor(readonly store: MvccStore) {
    this.alarms = this.loadAlarms();
  }

  appliedIndex(): number {
    return this.store.consistentIndex();
  }

  apply(index: number, term: number, payload: Uint8Array): ApplyResult {
    this.openBatch();
    const request = decodePayload<InternalRequest>(payload);
    let result: ApplyResult;
    try {
      result = { ok: true, response: this.execute(request) };
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

  flush(): void {
    if (this.store.inBatch()) this.store.commitBatch();
  }

  snapshot(): Uint8Array {
    assert(!this.store.inBatch(), 'snapshot taken with an open batch');
    return this.store.snapshotBytes();
  }

  restore(index: number, term: number, data: Uint8Array): void {
    assert(!this.store.inBatch(), 'restore with an open batch');
    this.store.restoreFrom(data);
    assert(this.store.consistentIndex() === index, () => `snapshot holds consistent index ${this.store.consistentIndex()}, expected ${index}`);
    assert(this.store.consistentTerm() <= term, () => `snapshot term ${this.store.consistentTerm()} beyond ${term}`);
    this.alarms = this.loadAlarms();
  }

  activeAlarms(): readonly AlarmMember[] {
    return this.alarms;
  }

  private openBatch(): void {
    if (!this.store.inBatch()) this.store.beginBatch();
  }

  private execute(request: InternalRequest): unknown {
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
    throw etcdError('NotCapable');
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

