import type { NodeId, SeededRand } from '../src/util/index.js';
import type { SimLoop } from './loop.js';
import type { MemberServices, ServiceRegistry } from './services.js';

export type CallOutcome<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly executedAtMs: number }
  | { readonly kind: 'error'; readonly error: unknown; readonly executedAtMs: number }
  /** The member was down or paused, or the answer did not arrive in time: outcome unknown. */
  | { readonly kind: 'timeout' };

export interface CallLink {
  readonly linkLatencyMsMin: number;
  readonly linkLatencyMsMax: number;
  readonly requestTimeoutMs: number;
}

/**
 * One simulated client request to a member: link latency out, the API call on the member's
 * running incarnation, latency back, or a timeout. `executedAtMs` is the virtual time at which
 * the member ran the request (a lower bound of any server-side effect's time).
 */
export function callMember<T>(
  loop: SimLoop,
  rand: SeededRand,
  services: ServiceRegistry,
  target: NodeId,
  link: CallLink,
  fn: (s: MemberServices) => Promise<T>,
): Promise<CallOutcome<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: CallOutcome<T>): void => {
      if (done) return;
      done = true;
      resolve(o);
    };
    const latency = (): number => rand.between(link.linkLatencyMsMin, link.linkLatencyMsMax);
    loop.after(link.requestTimeoutMs, 'client-timeout', undefined, () => finish({ kind: 'timeout' }));
    loop.after(latency(), 'client-send', target, () => {
      const s = services.get(target);
      if (s === undefined) return;
      const executedAtMs = loop.nowMs;
      fn(s).then(
        (value) => loop.after(latency(), 'client-recv', target, () => finish({ kind: 'ok', value, executedAtMs })),
        (error: unknown) => loop.after(latency(), 'client-recv', target, () => finish({ kind: 'error', error, executedAtMs })),
      );
    });
  });
}
