/**
 * Every permission decision against a tiny separate model: random users, roles and permissions
 * (single keys, ranges, prefixes, open-ended "\0" ranges), random operations (range, put, delete
 * with prev_kv, txn with compares and both branches, watch, lease revoke) applied through the
 * real applier and the serving-path checks. The model decides coverage by a greedy sweep over
 * the user's intervals, a different algorithm from the store's (etcd's interval-tree walk).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTxnPermission } from '../../src/apply/index.js';
import type { InternalRequest } from '../../src/apply/index.js';
import { PermissionType } from '../../src/auth/index.js';
import type { AuthInfo, PermissionTypeNumber } from '../../src/auth/index.js';
import type { RequestOp, TxnRequest } from '../../src/mvcc/index.js';
import { ApplierHarness, errorOf } from './helpers.js';

const DENIED = 'etcdserver: permission denied';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---------------------------------------------------------------- the model (strings, JS order)

interface MPerm {
  key: string;
  /** '' single key, '\0' open-ended, else exclusive end */
  end: string;
  type: PermissionTypeNumber;
}
interface MWorld {
  /** Every role's permissions as etcd keeps them after the grants in `sent`. */
  roles: Map<string, MPerm[]>;
  /** The grants sent to the store per role, in order. */
  sent: Map<string, MPerm[]>;
  users: Map<string, string[]>;
}

/** Byte order equals UTF-16 order for the ASCII alphabet used here. */
const lt = (a: string, b: string): boolean => a < b;

function modelAllows(world: MWorld, user: string, kind: 'read' | 'write', key: string, end: string): boolean {
  const roles = world.users.get(user);
  if (roles === undefined) return false;
  if (roles.includes('root')) return true;
  const grants = roles.flatMap((r) => world.roles.get(r) ?? []).filter((p) => p.type === PermissionType.READWRITE || p.type === (kind === 'read' ? PermissionType.READ : PermissionType.WRITE));
  // [begin, end) with end undefined = +inf
  const ivls = grants.map((p) => ({ b: p.key, e: p.end === '' ? p.key + '\0' : p.end === '\0' ? undefined : p.end }));
  const inside = (k: string, i: { b: string; e: string | undefined }): boolean => !lt(k, i.b) && (i.e === undefined || lt(k, i.e));
  if (end === '') return ivls.some((i) => inside(key, i));
  const target = end === '\0' ? undefined : end;
  let cur: string | undefined = key;
  for (;;) {
    if (cur === undefined) return true;
    if (target !== undefined && !lt(cur, target)) return true;
    const at: string = cur;
    let best: string | undefined | null = null; // null = no interval holds `at`
    for (const i of ivls) {
      if (!inside(at, i)) continue;
      if (i.e === undefined) best = undefined;
      else if (best !== undefined && (best === null || lt(best, i.e))) best = i.e;
    }
    if (best === null) return false;
    cur = best;
  }
}

// ---------------------------------------------------------------- generators

const ALPHABET = ['a', 'b', 'c'];
const keyArb = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 3 }).map((cs) => cs.join(''));
const prefixEnd = (k: string): string => k.slice(0, -1) + String.fromCharCode(k.charCodeAt(k.length - 1) + 1);

/** A key, a range [k, e) with e > k, a prefix, or an open range from k. */
const spanArb = fc.oneof(
  keyArb.map((k) => ({ key: k, end: '' })),
  fc.tuple(keyArb, keyArb).filter(([a, b]) => a !== b).map(([a, b]) => (a < b ? { key: a, end: b } : { key: b, end: a })),
  keyArb.map((k) => ({ key: k, end: prefixEnd(k) })),
  keyArb.map((k) => ({ key: k, end: '\0' })),
);
const permArb = fc.record({ span: spanArb, type: fc.constantFrom<PermissionTypeNumber>(0, 1, 2) }).map(({ span, type }) => ({ ...span, type }));
const worldArb = fc
  .record({
    roles: fc.array(fc.array(permArb, { maxLength: 4 }), { minLength: 1, maxLength: 3 }),
    grants: fc.array(fc.array(fc.nat(3), { maxLength: 3 }), { minLength: 2, maxLength: 3 }),
    rootUser: fc.boolean(),
  })
  .map(({ roles, grants, rootUser }) => {
    const world: MWorld = { roles: new Map(), sent: new Map(), users: new Map() };
    // etcd's RoleGrantPermission: the grant is compared with the FIRST permission on its key
    // (kept sorted by key); same range end: its type is replaced; otherwise it is appended.
    const granted = (perms: MPerm[]): MPerm[] => {
      let list: MPerm[] = [];
      for (const p of perms) {
        const first = list.findIndex((q) => q.key >= p.key);
        const q = first >= 0 ? list[first] : undefined;
        if (q !== undefined && q.key === p.key && q.end === p.end) list = list.map((x, i) => (i === first ? { ...x, type: p.type } : x));
        else list = [...list, p].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      }
      return list;
    };
    roles.forEach((perms, i) => {
      // Each permission is granted twice, first with another type, so the replace path (and
      // etcd's append-on-other-range-end rule) is exercised too.
      const sent = [...perms.map((p) => ({ ...p, type: ((p.type + 1) % 3) as PermissionTypeNumber })), ...perms];
      world.sent.set(`r${i}`, sent);
      world.roles.set(`r${i}`, granted(sent));
    });
    grants.forEach((g, i) => world.users.set(`u${i}`, [...new Set(g.filter((n) => n < roles.length).map((n) => `r${n}`))]));
    if (rootUser) world.users.set('u9', ['root']);
    return world;
  });

type Op =
  | { f: 'range'; key: string; end: string }
  | { f: 'put'; key: string; prevKv: boolean }
  | { f: 'delete'; key: string; end: string; prevKv: boolean }
  | { f: 'txn'; compare: string[]; success: TxnOpM[]; failure: TxnOpM[] }
  | { f: 'watch'; key: string; end: string }
  | { f: 'leaseRevoke'; keys: string[] };
type TxnOpM = { t: 'range'; key: string; end: string } | { t: 'put'; key: string } | { t: 'delete'; key: string; end: string; prevKv: boolean };

const txnOpArb: fc.Arbitrary<TxnOpM> = fc.oneof(
  spanArb.map((s) => ({ t: 'range' as const, ...s })),
  keyArb.map((key) => ({ t: 'put' as const, key })),
  fc.record({ s: spanArb, prevKv: fc.boolean() }).map(({ s, prevKv }) => ({ t: 'delete' as const, ...s, prevKv })),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  spanArb.map((s) => ({ f: 'range' as const, ...s })),
  fc.record({ key: keyArb, prevKv: fc.boolean() }).map((r) => ({ f: 'put' as const, ...r })),
  fc.record({ s: spanArb, prevKv: fc.boolean() }).map(({ s, prevKv }) => ({ f: 'delete' as const, ...s, prevKv })),
  fc.record({ compare: fc.array(keyArb, { maxLength: 2 }), success: fc.array(txnOpArb, { maxLength: 3 }), failure: fc.array(txnOpArb, { maxLength: 3 }) }).map((t) => ({ f: 'txn' as const, ...t })),
  spanArb.map((s) => ({ f: 'watch' as const, ...s })),
  fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }).map((keys) => ({ f: 'leaseRevoke' as const, keys })),
);

// ---------------------------------------------------------------- driving the real code

function setUp(world: MWorld): ApplierHarness {
  const h = new ApplierHarness();
  h.must({ userAdd: { name: 'root', passwordHash: 'x', noPassword: false } });
  h.must({ userGrantRole: { user: 'root', role: 'root' } });
  for (const [name, sent] of world.sent) {
    h.must({ roleAdd: { name } });
    for (const p of sent) h.must({ roleGrantPermission: { name, perm: { key: enc(p.key), rangeEnd: enc(p.end), permType: p.type } } });
  }
  for (const [name, roles] of world.users) {
    h.must({ userAdd: { name, passwordHash: 'x', noPassword: false } });
    for (const role of roles) h.must({ userGrantRole: { user: name, role } });
  }
  h.must({ authEnable: {} });
  return h;
}

function toRequestOp(op: TxnOpM): RequestOp {
  if (op.t === 'range') return { requestRange: { key: enc(op.key), ...(op.end === '' ? {} : { rangeEnd: enc(op.end) }) } };
  if (op.t === 'put') return { requestPut: { key: enc(op.key), value: enc('v') } };
  return { requestDeleteRange: { key: enc(op.key), prevKv: op.prevKv, ...(op.end === '' ? {} : { rangeEnd: enc(op.end) }) } };
}

function modelTxn(world: MWorld, user: string, op: Extract<Op, { f: 'txn' }>): boolean {
  const one = (o: TxnOpM): boolean => {
    if (o.t === 'range') return modelAllows(world, user, 'read', o.key, o.end);
    if (o.t === 'put') return modelAllows(world, user, 'write', o.key, '');
    return modelAllows(world, user, 'write', o.key, o.end) && (!o.prevKv || modelAllows(world, user, 'read', o.key, o.end));
  };
  return op.compare.every((k) => modelAllows(world, user, 'read', k, '')) && op.success.every(one) && op.failure.every(one);
}

/** Runs one op as `user` and answers whether it was permitted; a refused write must change nothing. */
function runOp(h: ApplierHarness, ai: AuthInfo, op: Op): boolean {
  const header = { username: ai.username, authRevision: ai.revision };
  const auth = h.applier.auth;
  const endOf = (end: string): Uint8Array => enc(end);
  const applied = (request: InternalRequest): boolean => {
    const before = h.applier.store.rev();
    const r = h.apply({ ...request, header });
    const message = errorOf(r);
    if (message === DENIED) expect(h.applier.store.rev()).toBe(before);
    return message !== DENIED;
  };
  switch (op.f) {
    case 'range':
    case 'watch':
      return auth.permits(ai, enc(op.key), endOf(op.end), 'read');
    case 'put':
      return applied({ put: { key: enc(op.key), value: enc('v'), prevKv: op.prevKv } });
    case 'delete':
      return applied({ deleteRange: { key: enc(op.key), prevKv: op.prevKv, ...(op.end === '' ? {} : { rangeEnd: enc(op.end) }) } });
    case 'txn': {
      const txn: TxnRequest = { compare: op.compare.map((k) => ({ key: enc(k), result: 0, target: 0, version: 0 })), success: op.success.map(toRequestOp), failure: op.failure.map(toRequestOp) };
      let readPathAllows = true;
      try {
        checkTxnPermission(auth, ai, txn);
      } catch {
        readPathAllows = false;
      }
      const applyPathAllows = applied({ txn });
      expect(applyPathAllows).toBe(readPathAllows);
      return applyPathAllows;
    }
    case 'leaseRevoke': {
      const id = BigInt(1000 + h.lastIndex());
      expect(h.apply({ leaseGrant: { id, ttlSeconds: 60 } }).ok).toBe(true);
      for (const k of op.keys) expect(h.apply({ put: { key: enc(k), value: enc('x'), lease: id } }).ok).toBe(true);
      const allowed = applied({ leaseRevoke: { id } });
      expect(h.applier.lessor.has(id)).toBe(!allowed);
      return allowed;
    }
  }
}

function modelOp(world: MWorld, user: string, op: Op): boolean {
  switch (op.f) {
    case 'range':
    case 'watch':
      return modelAllows(world, user, 'read', op.key, op.end);
    case 'put':
      return modelAllows(world, user, 'write', op.key, '') && (!op.prevKv || modelAllows(world, user, 'read', op.key, ''));
    case 'delete':
      return modelAllows(world, user, 'write', op.key, op.end) && (!op.prevKv || modelAllows(world, user, 'read', op.key, op.end));
    case 'txn':
      return modelTxn(world, user, op);
    case 'leaseRevoke':
      return op.keys.every((k) => modelAllows(world, user, 'write', k, ''));
  }
}

describe('permission decisions against a model', () => {
  it('every operation is allowed exactly when the model allows it', () => {
    fc.assert(
      fc.property(worldArb, fc.array(fc.tuple(fc.constantFrom('u0', 'u1', 'u2', 'u9', 'ghost'), opArb), { minLength: 1, maxLength: 12 }), (world, ops) => {
        const h = setUp(world);
        for (const [user, op] of ops) {
          const ai = { username: user, revision: h.applier.auth.revision() };
          const expected = modelOp(world, user, op);
          const got = runOp(h, ai, op);
          if (got !== expected) throw new Error(`${user} ${JSON.stringify(op)}: model ${expected}, store ${got}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('model sanity: the sweep treats adjacent and overlapping grants as one span', () => {
    const world: MWorld = { roles: new Map([['r', [{ key: 'a', end: 'b', type: 0 }, { key: 'b', end: 'c', type: 2 }, { key: 'c', end: '', type: 0 }]]]), sent: new Map(), users: new Map([['u', ['r']]]) };
    expect(modelAllows(world, 'u', 'read', 'a', 'c')).toBe(true);
    expect(modelAllows(world, 'u', 'read', 'a', 'c\0')).toBe(true);
    expect(modelAllows(world, 'u', 'read', 'a', 'ca')).toBe(false);
    expect(modelAllows(world, 'u', 'write', 'a', 'c')).toBe(false);
    expect(modelAllows(world, 'u', 'write', 'b', 'c')).toBe(true);
    expect(dec(enc('abc'))).toBe('abc');
  });
});
