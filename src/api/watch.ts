import type { Clock, TimerHandle } from '../env/index.js';
import type { Applier } from '../apply/index.js';
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

  open(send: (response: WatchResponse) => void): WatchSession {
    const stream: WatchStream = this.applier.watchHub.openStream((response) => {
      response.header = { ...response.header, clusterId: this.options.clusterId, memberId: this.options.memberId, raftTerm: this.options.raftTerm() };
      send(response);
    });
    return {
      handle: (request) => stream.handle(request),
      ack: (count) => {
        stream.ack(count);
        // Room freed in a full stream: catch its watchers up now rather than at the next tick.
        this.applier.watchHub.syncWatchers();
      },
      close: () => stream.close(),
    };
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
