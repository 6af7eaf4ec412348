import type { Clock, TimerHandle } from '../env/index.js';
import type { Applier } from '../apply/index.js';
import type { AuthInfo } from '../auth/index.js';
import type { WatchRequest, WatchResponse, WatchStream } from '../watch/index.js';

export interface WatchApiOptions {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly raftTerm: () => number;
  /** How often lagging watchers are caught up from the store (etcd: 100 ms). */
  readonly syncIntervalMs?: number;
}

/** One client Watch call: feed it requests, acknowledge responses as they are written. */
export interface WatchSession {
  handle(request: WatchRequest): void;
  ack(count: number): void;
  close(): void;
}

/**
 * etcd's Watch service, transport-free: one session per client stream over the applier's
 * watch hub. A timer catches up unsynced and slow watchers from the store and sends progress
 * notifications, so a slow client is never dropped events, only delayed.
 */
export class WatchApi {
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly applier: Applier,
    private readonly clock: Clock,
    private readonly options: WatchApiOptions,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
  }

  /**
   * `credential`, when given, is asked for the caller's AuthInfo at each create request (etcd
   * reads the stream's token each time): a watch needs READ on its whole range, else it is
   * answered created-and-canceled with "permission denied", as etcd's isWatchPermitted does (its
   * cancel reason is the gRPC status error's text, code included).
   */
  open(send: (response: WatchResponse) => void, credential?: () => AuthInfo): WatchSession {
    const stamp = (response: WatchResponse): WatchResponse => {
      response.header = { ...response.header, clusterId: this.options.clusterId, memberId: this.options.memberId, raftTerm: this.options.raftTerm() };
      return response;
    };
    const stream: WatchStream = this.applier.watchHub.openStream((response) => send(stamp(response)));
    // Refusals are answered here, not by the hub: their acknowledgements must not reach it.
    let refusalsUnacked = 0;
    return {
      handle: (request) => {
        if (credential !== undefined && 'createRequest' in request && !this.watchPermitted(credential, request.createRequest.key, request.createRequest.rangeEnd)) {
          const header = { clusterId: 0n, memberId: 0n, revision: this.applier.store.rev(), raftTerm: 0 };
          refusalsUnacked++;
          send(stamp({ header, watchId: -1, created: true, canceled: true, compactRevision: 0, cancelReason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied', fragment: false, events: [] }));
          return;
        }
        stream.handle(request);
      },
      ack: (count) => {
        const refusals = Math.min(count, refusalsUnacked);
        refusalsUnacked -= refusals;
        if (count - refusals === 0) return;
        stream.ack(count - refusals);
        // Room freed in a full stream: catch its watchers up now rather than at the next tick.
        this.applier.watchHub.syncWatchers();
      },
      close: () => stream.close(),
    };
  }

  private watchPermitted(credential: () => AuthInfo, key: Uint8Array | undefined, rangeEnd: Uint8Array | undefined): boolean {
    const auth = this.applier.auth;
    if (!auth.isEnabled()) return true;
    let ai: AuthInfo;
    try {
      ai = credential();
    } catch {
      return false; // an invalid token: etcd answers the same permission denied
    }
    return auth.permits(ai, key ?? new Uint8Array(0), rangeEnd ?? new Uint8Array(0), 'read');
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(this.options.syncIntervalMs ?? 100, () => {
      this.applier.watchHub.syncWatchers();
      this.applier.watchHub.tick(this.clock.nowMs());
      this.schedule();
    });
  }
}
