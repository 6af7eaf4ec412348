import type { Clock } from '../env/index.js';
import type { ApplyResult, InternalRequest } from '../apply/index.js';
import { Applier, checkTxnPermission, encodePayload } from '../apply/index.js';
import type { AuthInfo } from '../auth/index.js';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  TxnRequest,
  TxnResponse,
} from '../mvcc/index.js';
import {
  DEFAULT_MAX_REQUEST_BYTES,
  checkDeleteRequest,
  checkPutRequest,
  checkQuota,
  checkRangeRequest,
  checkRequestSize,
  checkTxnRequest,
  txnHasWrites,
} from '../mvcc/index.js';
import { NodeRequestError } from '../server/index.js';
import type { ServerNode } from '../server/index.js';
import { deadlinesOf } from './deadlines.js';
import { EtcdError, etcdError } from './errors.js';
import type { EtcdErrorName } from './errors.js';

export interface KvApiOptions {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly maxRequestBytes?: number;
  /** Backend quota in bytes; 0 = etcd's default 2 GiB, negative = none. */
  readonly quotaBackendBytes?: number;
  /** How long a request may wait for Raft before "request timed out" (etcd: 5 s + 2 election timeouts). */
  readonly requestTimeoutMs: number;
  readonly maxTxnOps?: number;
}

/**
 * etcd's KV service without a transport: validate, then either serve a read after a ReadIndex
 * barrier (serializable reads skip it) or propose the request through Raft and wait for its
 * applied result. Errors are EtcdError with etcd's exact code and message.
 */
export class KvApi {
  constructor(
    private readonly node: ServerNode<ApplyResult>,
    private readonly applier: Applier,
    private readonly clock: Clock,
    private readonly options: KvApiOptions,
  ) {}

  /*
   * `ai`: the client's credential (etcd's AuthInfo; revision 0 = none). Reads are checked here,
   * synchronously with the read, so no auth change slips between check and read; writes carry it
   * in their header and are checked when applied. Absent: a request the server makes itself.
   */

  async range(request: RangeRequest, requestBytes = 0, ai?: AuthInfo): Promise<RangeResponse> {
    this.checkSize(requestBytes);
    checkRangeRequest(request);
    if (request.serializable !== true) await this.withTimeout(this.node.linearizableBarrier());
    if (ai !== undefined) this.applier.auth.checkOp(ai, request.key, request.rangeEnd ?? new Uint8Array(0), 'read');
    return this.stamp(this.applier.store.range(request));
  }

  async put(request: PutRequest, requestBytes = 0, ai?: AuthInfo): Promise<PutResponse> {
    this.checkSize(requestBytes);
    checkPutRequest(request);
    this.checkQuota({ put: request });
    return this.stamp((await this.propose({ put: request }, ai)) as PutResponse);
  }

  async deleteRange(request: DeleteRangeRequest, requestBytes = 0, ai?: AuthInfo): Promise<DeleteRangeResponse> {
    this.checkSize(requestBytes);
    checkDeleteRequest(request);
    return this.stamp((await this.propose({ deleteRange: request }, ai)) as DeleteRangeResponse);
  }

  async txn(request: TxnRequest, requestBytes = 0, ai?: AuthInfo): Promise<TxnResponse> {
    this.checkSize(requestBytes);
    checkTxnRequest(request, this.options.maxTxnOps);
    if (!txnHasWrites(request)) {
      // A read-only txn is a read: served locally after the barrier, as etcd does.
      if (!isSerializableTxn(request)) await this.withTimeout(this.node.linearizableBarrier());
      if (ai !== undefined && this.applier.auth.isEnabled()) checkTxnPermission(this.applier.auth, ai, request);
      return this.stamp(this.applier.store.txn(request));
    }
    this.checkQuota({ txn: request });
    return this.stamp((await this.propose({ txn: request }, ai)) as TxnResponse);
  }

  /** A view of this API whose requests all run as `ai` (Lock and Election act for their caller). */
  as(ai: AuthInfo): KvApi {
    const base = this;
    const view = Object.create(base) as KvApi;
    view.range = (r, bytes = 0, who = ai) => base.range(r, bytes, who);
    view.put = (r, bytes = 0, who = ai) => base.put(r, bytes, who);
    view.deleteRange = (r, bytes = 0, who = ai) => base.deleteRange(r, bytes, who);
    view.txn = (r, bytes = 0, who = ai) => base.txn(r, bytes, who);
    return view;
  }

  async compact(request: CompactionRequest): Promise<CompactionResponse> {
    return this.stamp((await this.propose({ compaction: request })) as CompactionResponse);
  }

  private propose(request: InternalRequest, ai?: AuthInfo): Promise<unknown> {
    const withHeader: InternalRequest = ai === undefined ? request : { ...request, header: { username: ai.username, authRevision: ai.revision } };
    return this.withTimeout(this.node.propose(encodePayload(withHeader))).then(appliedResponse);
  }

  /** Fills the header's member, cluster and term, which the store does not know. */
  private stamp<T extends { header: ResponseHeader }>(response: T): T {
    // A fresh object (the store's header may be shared), written field by field: cheaper than a spread.
    response.header = {
      clusterId: this.options.clusterId,
      memberId: this.options.memberId,
      revision: response.header.revision,
      raftTerm: this.node.observe().term,
    };
    return response;
  }

  private checkSize(requestBytes: number): void {
    checkRequestSize(requestBytes, this.options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
  }

  private checkQuota(request: Parameters<typeof checkQuota>[1]): void {
    if (this.applier.activeAlarms().some((a) => a.alarm === 'NOSPACE')) throw etcdError('NoSpace');
    try {
      checkQuota(this.applier.store.backendSizeBytes(), request, this.options.quotaBackendBytes ?? 0);
    } catch (error) {
      // As etcd: raise the NOSPACE alarm through Raft, so every member then refuses writes that
      // add data (deletes and reads still work) until an operator disarms it.
      const memberId = this.options.memberId.toString(16).padStart(16, '0');
      void this.node.propose(encodePayload({ alarm: { action: 'activate', memberId, alarm: 'NOSPACE' } })).catch(() => undefined);
      throw error;
    }
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    return awaitNode(this.clock, this.options.requestTimeoutMs, work);
  }
}

/**
 * Maps node failures to etcd's errors and bounds the wait as etcd's request timeout does. The
 * deadline goes into the clock's shared list (deadlines.ts) rather than a timer of its own.
 */
export function awaitNode<T>(clock: Clock, timeoutMs: number, work: Promise<T>): Promise<T> {
  const deadlines = deadlinesOf(clock);
  return new Promise<T>((resolve, reject) => {
    const entry = deadlines.add(timeoutMs, () => reject(etcdError('Timeout')));
    work.then(
      (value) => {
        deadlines.remove(entry);
        resolve(value);
      },
      (error: unknown) => {
        deadlines.remove(entry);
        reject(translateNodeError(error));
      },
    );
  });
}

function appliedResponse(result: ApplyResult): unknown {
  if (!result.ok) throw new EtcdError(result.error.code, result.error.message);
  return result.response;
}

const NODE_ERRORS: Readonly<Record<NodeRequestError['reason'], EtcdErrorName>> = {
  noLeader: 'NoLeader',
  leaderChanged: 'LeaderChanged',
  stopped: 'Stopped',
  dropped: 'NoLeader',
  timeout: 'Timeout',
};

export function translateNodeError(error: unknown): unknown {
  return error instanceof NodeRequestError ? etcdError(NODE_ERRORS[error.reason]) : error;
}

function isSerializableTxn(request: TxnRequest): boolean {
  const ops = [...(request.success ?? []), ...(request.failure ?? [])];
  return ops.length > 0 && ops.every((op) => 'requestRange' in op && op.requestRange.serializable === true);
}
