/**
 * Run knobs that explicit schedules and their shrinking need beyond the seed: turning the seed's
 * background faults off family by family, and test-only injected invariants (a deliberately
 * failing configuration that proves recording, replay and shrinking work, without a real bug).
 */
import type { AnyCluster } from './cluster.js';
import type { FaultProfile } from './faults.js';
import { withoutFaults } from './faults.js';
import { InvariantViolation } from './invariants.js';

/**
 * Background faults of the seed's profile that are not timed steps: network loss, duplication,
 * reordering and delayed snapshot delivery; disk torn writes, corruption, EIO and slow syncs;
 * clock skew, drift and jumps.
 */
export type QuietFamily = 'network' | 'disk' | 'clock';

export const QUIET_FAMILIES: readonly QuietFamily[] = ['network', 'disk', 'clock'];

/** The profile with the named background families off; the rest as the seed drew them. */
export function quietProfile(p: FaultProfile, quiet: readonly QuietFamily[]): FaultProfile {
  if (quiet.length === 0) return p;
  const off = withoutFaults(p);
  return {
    ...p,
    ...(quiet.includes('network') ? { network: off.network, snapDelay: off.snapDelay } : {}),
    ...(quiet.includes('disk') ? { disk: off.disk } : {}),
    ...(quiet.includes('clock')
      ? { clock: { nodes: p.clock.nodes.map((n) => ({ ...n, skewMs: 0, driftRate: 1 })), jumpMeanIntervalMs: 0, jumpMsMax: 0 } }
      : {}),
  };
}

/**
 * Test-only invariants, checked after every event when a run names one. They fail runs of a
 * correct cluster on purpose:
 * - kill-during-partition: a member is down while a network cut is in force.
 */
export type InjectedInvariant = 'kill-during-partition';

export const INJECTED_INVARIANTS: readonly InjectedInvariant[] = ['kill-during-partition'];

export function checkInjected(name: InjectedInvariant, cluster: AnyCluster): void {
  switch (name) {
    case 'kill-during-partition': {
      const cut = cluster.network.rules().some((r) => r.category === 'fault' && r.cuts !== undefined);
      const down = cluster.ids.filter((id) => cluster.state(id) === 'crashed');
      if (cut && down.length > 0) throw new InvariantViolation(`injected invariant kill-during-partition (test only): ${down.join(',')} down while a partition is in force`);
      return;
    }
  }
}
