import { describe, expect, it } from 'vitest';
import { Applier } from '../../src/apply/index.js';
import type { ApplyResult } from '../../src/apply/index.js';
import { MemoryBackend } from '../../src/mvcc/index.js';
import type { MvccStore } from '../../src/mvcc/index.js';
import type { Clock } from '../../src/env/index.js';
import {
  MemberRegistry,
  MembershipMachine,
  decodeMemberContext,
  encodeEnvelope,
  encodeMemberContext,
  encodeMemberRequest,
  isMemberRequest,
} from '../../src/server/index.js';
import type { Member, MembershipEvent } from '../../src/server/index.js';
import { encodePayload } from '../../src/apply/index.js';
import { nodeIdFromBigInt } from '../../src/util/index.js';
import type { ConfChange } from '../../src/raft/index.js';

/** Membership never reads the clock; the applier needs one for lease bookkeeping. */
const stillClock: Clock = { nowMs: () => 0, setTimer: () => ({ timerId: 0 }), clearTimer: () => undefined };

const founders: Member[] = [
  { id: 0x11n, name: 'n1', peerUrls: ['http://a:2380'], clientUrls: [], isLearner: false },
  { id: 0x22n, name: 'n2', peerUrls: ['http://b:2380'], clientUrls: [], isLearner: false },
];
const newcomer: Member = { id: 0xfedcba9876543210n, name: '', peerUrls: ['http://c:2380'], clientUrls: [], isLearner: true };

function fresh(): { store: MvccStore; registry: MemberRegistry; machine: MembershipMachine<ApplyResult> } {
  const applier = new Applier(new MemoryBackend(), { clock: stillClock });
  const store = applier.store;
  const registry = new MemberRegistry(store);
  registry.initialize(founders);
  const machine = new MembershipMachine<ApplyResult>(applier, registry, { ok: true, response: {} });
  return { store, registry, machine };
}

const cc = (type: ConfChange["type"], id: bigint, context: Uint8Array = new Uint8Array(0)): ConfChange => ({ type, nodeId: nodeIdFromBigInt(id), context });

describe('replicated member list', () => {
  it('applies add-learner, publish, promote and remove in log order, with the applied index', () => {
    const { registry, machine } = fresh();
    const events: MembershipEvent[] = [];
    registry.onChange((e) => events.push(e));
    machine.applyConfChange(1, 1, cc('addLearner', newcomer.id, encodeMemberContext(newcomer)), { voters: [], learners: [] });
    expect(registry.get(newcomer.id)).toEqual(newcomer);
    const publish = encodeMemberRequest({ kind: 'publish', id: newcomer.id, name: 'n3', clientUrls: ['http://c:2379'] });
    expect(isMemberRequest(publish)).toBe(true);
    expect(machine.apply(2, 1, publish)).toEqual({ ok: true, response: {} });
    machine.applyConfChange(3, 1, cc('promoteLearner', newcomer.id), { voters: [], learners: [] });
    expect(registry.get(newcomer.id)).toEqual({ ...newcomer, name: 'n3', clientUrls: ['http://c:2379'], isLearner: false });
    machine.applyConfChange(4, 2, cc('removeNode', 0x22n), { voters: [], learners: [] });
    machine.flush();
    expect(registry.list().map((m) => m.name)).toEqual(['n1', 'n3']);
    expect(registry.isRemoved(0x22n)).toBe(true);
    expect(machine.appliedIndex()).toBe(4);
    expect(events.map((e) => `${e.kind}@${e.index}`)).toEqual(['addLearner@1', 'publish@2', 'promoteLearner@3', 'removeNode@4']);
  });

  it('keeps normal client requests on the inner applier', () => {
    const { store, machine } = fresh();
    const put = encodePayload({ put: { key: new TextEncoder().encode('k'), value: new TextEncoder().encode('v') } });
    expect(isMemberRequest(put)).toBe(false);
    const result = machine.apply(1, 1, put);
    machine.flush();
    expect(result.ok).toBe(true);
    expect(store.rev()).toBe(2);
  });

  it('survives a reopen and travels inside the state machine snapshot', () => {
    const { store, registry, machine } = fresh();
    machine.applyConfChange(1, 1, cc('addLearner', newcomer.id, encodeMemberContext(newcomer)), { voters: [], learners: [] });
    machine.applyConfChange(2, 1, cc('removeNode', 0x11n), { voters: [], learners: [] });
    machine.flush();
    expect(new MemberRegistry(store).list()).toEqual(registry.list());
    const snapshot = machine.snapshot();
    // A member that knew only the founders installs the snapshot and gets the same list.
    const other = fresh();
    other.machine.restore(2, 1, snapshot);
    expect(other.registry.list()).toEqual(registry.list());
    expect(other.registry.isRemoved(0x11n)).toBe(true);
    expect(other.registry.foundingMembers().map((m) => m.name)).toEqual(['n1', 'n2']);
  });

  it('is idempotent for a joiner that starts from the current list and replays the log', () => {
    const { registry, machine } = fresh();
    machine.applyConfChange(1, 1, cc('addLearner', newcomer.id, encodeMemberContext(newcomer)), { voters: [], learners: [] });
    machine.applyConfChange(2, 1, cc('promoteLearner', newcomer.id), { voters: [], learners: [] });
    machine.applyConfChange(3, 1, cc('removeNode', 0x22n), { voters: [], learners: [] });
    machine.flush();
    const joinerApplier = new Applier(new MemoryBackend(), { clock: stillClock });
    const joiner = new MemberRegistry(joinerApplier.store);
    joiner.initialize(registry.foundingMembers(), registry.list(), registry.removedIds());
    const joinerMachine = new MembershipMachine<ApplyResult>(joinerApplier, joiner, { ok: true, response: {} });
    joinerMachine.applyConfChange(1, 1, cc('addLearner', newcomer.id, encodeMemberContext(newcomer)), { voters: [], learners: [] });
    joinerMachine.applyConfChange(2, 1, cc('promoteLearner', newcomer.id), { voters: [], learners: [] });
    joinerMachine.applyConfChange(3, 1, cc('removeNode', 0x22n), { voters: [], learners: [] });
    expect(joiner.list()).toEqual(registry.list());
  });

  it('a member request inside an envelope-free payload is recognised only by its exact prefix', () => {
    expect(isMemberRequest(new TextEncoder().encode('{"member":1}'))).toBe(false);
    expect(isMemberRequest(encodeEnvelope({ epoch: 1, seq: 1 }, encodeMemberRequest({ kind: 'update', id: 1n, peerUrls: ['http://x:1'] })))).toBe(false);
    expect(decodeMemberContext(encodeMemberContext(newcomer))).toEqual(newcomer);
    expect(decodeMemberContext(new Uint8Array(0))).toBeUndefined();
  });
});
