/**
 * Auth under faults: an admin client (as root) keeps changing roles, permissions and role grants
 * and turns auth off and on, while writer clients log in (simple tokens through the real
 * Authenticate path, the fake hasher standing in for bcrypt) and write as their users (puts, and
 * txns with a compare and a put in each branch). Every
 * member's applied log is watched: each write that took effect (the store's revision moved at its
 * entry) must be allowed, by a separate decision model, under the permissions in force when it
 * applied. Refusals the model would have allowed are counted (old auth revisions explain them).
 */
import { AuthApi, NO_CREDENTIAL, isEtcdError } from '../src/api/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import { PermissionType, insecureFakeHasher } from '../src/auth/index.js';
import type { AuthInfo, AuthRequest, AuthStore, PermissionTypeNumber } from '../src/auth/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import { encodePayload } from '../src/apply/index.js';
import { HistoryRecorder } from '../histories/index.js';
import { SimCluster } from './cluster.js';
import type { ClusterOptions, SimMachine } from './cluster.js';
import { KvMachine } from './kv-machine.js';
import type { SimLoop } from './loop.js';
import { ServiceRegistry } from './services.js';
import type { MemberServices } from './services.js';
import { callMember } from './client-call.js';
import type { CallLink } from './client-call.js';

export interface AuthWorkloadOptions extends CallLink {
  readonly writers: number;
  readonly thinkMsMax: number;
}

const KEYS = ['k0', 'k1', 'k2', 'k3'];
const USERS = ['w0', 'w1'];
const ROLES = ['ra', 'rb'];
const PASSWORD = 'pw';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Grant {
  key: string;
  /** '' one key, '\0' open-ended, else exclusive end */
  end: string;
  type: PermissionTypeNumber;
}

/** The permissions in force as the decision model sees them, copied from a member at an entry. */
interface InForce {
  enabled: boolean;
  roles: Map<string, Grant[]>;
  users: Map<string, string[]>;
}

function snapshotOf(auth: AuthStore): InForce {
  const roles = new Map<string, Grant[]>();
  for (const name of auth.roleList()) roles.set(name, auth.roleGet(name).map((p) => ({ key: dec(p.key), end: dec(p.rangeEnd), type: p.permType })));
  const users = new Map<string, string[]>();
  for (const name of auth.userList()) users.set(name, [...auth.userGet(name)]);
  return { enabled: auth.isEnabled(), roles, users };
}

/** `kind` on one key: some grant of one of the user's roles holds it (or the user has root). */
export function modelMay(inForce: InForce, user: string, kind: 'read' | 'write', key: string): boolean {
  if (!inForce.enabled) return true;
  const roles = inForce.users.get(user);
  if (roles === undefined) return false;
  if (roles.includes('root')) return true;
  const excluded = kind === 'write' ? PermissionType.READ : PermissionType.WRITE;
  return roles.some((r) =>
    (inForce.roles.get(r) ?? []).some((g) => {
      if (g.type === excluded) return false;
      if (g.end === '') return g.key === key;
      return g.key <= key && (g.end === '\0' || key < g.end);
    }),
  );
}

export function modelMayWrite(inForce: InForce, user: string, key: string): boolean {
  return modelMay(inForce, user, 'write', key);
}

type PutOp = { key: Uint8Array; value: Uint8Array };
type TxnShape = { compare?: Array<{ key: Uint8Array }>; success?: Array<{ requestPut?: PutOp }>; failure?: Array<{ requestPut?: PutOp }> };

export class AuthWorkload {
  completed = 0;
  writesApplied = 0;
  refusalsModelAllowed = 0;
  adminChanges = 0;
  readonly violations: string[] = [];
  private stopped = false;
  private seq = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: SimCluster<ApplyResult, KvMachine>,
    private readonly services: ServiceRegistry,
    private readonly recorder: HistoryRecorder,
    private readonly rand: SeededRand,
    private readonly options: AuthWorkloadOptions,
  ) {}

  /** KvMachine's request observer on member `id`, called after each applied entry. */
  onApplied(id: NodeId, index: number, request: Record<string, unknown>): void {
    const machine = this.cluster.machine(id);
    const header = request['header'] as { username: string } | undefined;
    if (machine === undefined || header === undefined) return;
    const put = request['put'] as PutOp | undefined;
    const txn = request['txn'] as TxnShape | undefined;
    if (put === undefined && txn === undefined) return;
    const store = machine.applier.store;
    // Took effect at this entry: a key now holds its put's (unique) value, written at the current revision.
    const landed = (p: PutOp): boolean => {
      const kv = store.range({ key: p.key, serializable: true }).kvs[0];
      return kv !== undefined && kv.modRevision === store.rev() && dec(kv.value) === dec(p.value);
    };
    const inForce = snapshotOf(machine.applier.auth);
    const user = header.username;
    let puts: PutOp[];
    let allowed: boolean;
    if (put !== undefined) {
      puts = [put];
      allowed = modelMay(inForce, user, 'write', dec(put.key));
    } else {
      // Both branches and every compare count, whichever branch ran.
      const t = txn as TxnShape;
      puts = [...(t.success ?? []), ...(t.failure ?? [])].flatMap((op) => (op.requestPut ? [op.requestPut] : []));
      allowed = (t.compare ?? []).every((c) => modelMay(inForce, user, 'read', dec(c.key))) && puts.every((p) => modelMay(inForce, user, 'write', dec(p.key)));
    }
    if (puts.some(landed)) {
      this.writesApplied++;
      if (!allowed) this.violations.push(`member ${id} applied entry ${index}: ${put ? 'put' : 'txn'} as "${user}" took effect without the permissions in force (auth revision ${machine.applier.auth.revision()})`);
    } else if (allowed) {
      this.refusalsModelAllowed++;
    }
  }

  start(): void {
    this.loop.after(0, 'auth-admin', undefined, () => void this.admin());
    for (let p = 0; p < this.options.writers; p++) {
      this.loop.after(this.rand.between(50, 50 + this.options.thinkMsMax), 'auth-writer', undefined, () => void this.writer(p + 1));
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private authApi(s: MemberServices, id: NodeId): AuthApi | undefined {
    const machine = this.cluster.machine(id);
    if (machine === undefined) return undefined;
    return new AuthApi(s.node, machine.applier, this.cluster.clock(id), { requestTimeoutMs: this.options.requestTimeoutMs, rand: this.rand.fork(`auth-${this.seq++}`), hasher: insecureFakeHasher });
  }

  private pickUp(): NodeId | undefined {
    const up = this.cluster.ids.filter((id) => this.services.get(id) !== undefined);
    return up.length === 0 ? undefined : this.rand.pick(up);
  }

  /** One admin request as root (credential at the member's current revision, as a simple token is). */
  /** Applies one admin request; true when it applied, or (`setUp`) had already applied before. */
  private async adminCall(request: AuthRequest | { userAdd: { name: string } }, alreadyCounts = false): Promise<boolean> {
    const target = this.pickUp();
    if (target === undefined) return false;
    const out = await callMember(this.loop, this.rand, this.services, target, this.options, async (s) => {
      const api = this.authApi(s, target);
      if (api === undefined) throw new Error('member down');
      const root: AuthInfo = { username: 'root', revision: api.revision() };
      if ('userAdd' in request && !('passwordHash' in request.userAdd)) return api.userAdd(root, request.userAdd.name, PASSWORD, false);
      return api.admin(root, request as AuthRequest);
    });
    const t = this.loop.nowMs;
    this.recorder.invoke('admin', 'auth', { request: Object.keys(request)[0] ?? '' }, t);
    this.recorder.complete('admin', out.kind === 'ok' ? 'ok' : out.kind === 'timeout' ? 'info' : 'fail', 'auth', {}, t);
    if (out.kind === 'ok') this.adminChanges++;
    // A retried setup step whose earlier attempt landed after its client gave up.
    const already = out.kind === 'error' && out.error instanceof Error && out.error.message.includes('already exists');
    return out.kind === 'ok' || (alreadyCounts && already);
  }

  private async setUp(): Promise<void> {
    const steps: Array<AuthRequest | { userAdd: { name: string } }> = [
      { userAdd: { name: 'root' } },
      { userGrantRole: { user: 'root', role: 'root' } },
      ...USERS.map((name) => ({ userAdd: { name } })),
      ...ROLES.map((name) => ({ roleAdd: { name } })),
      { authEnable: {} },
    ];
    for (const step of steps) {
      // Retried until it lands (a duplicate from a timed-out attempt answers "already exists").
      while (!this.stopped && !(await this.adminCall(step, true))) await this.sleep(100);
    }
  }

  private randomChange(): AuthRequest {
    const role = this.rand.pick(ROLES);
    const user = this.rand.pick(USERS);
    const key = this.rand.pick(KEYS);
    const roll = this.rand.int(100);
    if (roll < 35) {
      const shape = this.rand.int(3);
      const end = shape === 0 ? '' : shape === 1 ? '\0' : this.rand.pick(KEYS.filter((k) => k > key).concat(['k9']));
      return { roleGrantPermission: { name: role, perm: { key: enc(key), rangeEnd: enc(end), permType: this.rand.int(3) as PermissionTypeNumber } } };
    }
    if (roll < 60) return { roleRevokePermission: { role, key: enc(key), rangeEnd: enc(this.rand.pick(['', '\0', 'k9'])) } };
    if (roll < 75) return { userGrantRole: { user, role } };
    if (roll < 88) return { userRevokeRole: { name: user, role } };
    if (roll < 94) return { authDisable: {} };
    return { authEnable: {} };
  }

  private async admin(): Promise<void> {
    await this.setUp();
    while (!this.stopped) {
      await this.adminCall(this.randomChange());
      await this.sleep(this.rand.between(20, 200));
    }
  }

  private async writer(process: number): Promise<void> {
    let token: string | undefined;
    const user = USERS[process % USERS.length] ?? 'w0';
    while (!this.stopped) {
      const target = this.pickUp();
      if (target === undefined) {
        await this.sleep(this.options.thinkMsMax);
        continue;
      }
      if (token === undefined && this.rand.chance(0.9)) token = await this.login(target, user);
      const key = this.rand.pick(KEYS);
      const compareKey = this.rand.pick(KEYS);
      const asTxn = this.rand.chance(0.3);
      const value = `p${process}-${this.seq++}`;
      const t = this.loop.nowMs;
      this.recorder.invoke(process, asTxn ? 'txn' : 'write', { key, value, user }, t, target);
      const held = token;
      const out = await callMember(this.loop, this.rand, this.services, target, this.options, async (s) => {
        const api = this.authApi(s, target);
        if (api === undefined) throw new Error('member down');
        const ai = held === undefined ? NO_CREDENTIAL : api.authInfo(held);
        if (!asTxn) return s.kv.put({ key: enc(key), value: enc(value) }, 0, ai);
        // A txn whose branches write different keys: both branches must be permitted.
        const other = KEYS[(KEYS.indexOf(key) + 1) % KEYS.length] ?? 'k0';
        return s.kv.txn(
          { compare: [{ key: enc(compareKey), result: 0, target: 0, version: 0 }], success: [{ requestPut: { key: enc(key), value: enc(value) } }], failure: [{ requestPut: { key: enc(other), value: enc(`${value}f`) } }] },
          0,
          ai,
        );
      });
      if (out.kind === 'error' && isEtcdError(out.error, 'InvalidAuthToken')) token = undefined;
      this.recorder.complete(process, out.kind === 'ok' ? 'ok' : out.kind === 'timeout' ? 'info' : 'fail', asTxn ? 'txn' : 'write', { key, value, user }, this.loop.nowMs, target);
      this.completed++;
      await this.sleep(this.rand.between(0, this.options.thinkMsMax));
    }
  }

  private async login(target: NodeId, user: string): Promise<string | undefined> {
    const out = await callMember(this.loop, this.rand, this.services, target, this.options, async (s) => {
      const api = this.authApi(s, target);
      if (api === undefined) throw new Error('member down');
      return api.authenticate(user, PASSWORD);
    });
    return out.kind === 'ok' ? out.value.token : undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.loop.after(ms, 'auth-think', undefined, () => resolve()));
  }
}

type Base = Omit<ClusterOptions<unknown, SimMachine<unknown>>, 'machine'>;
type Link = { clients: number; linkLatencyMsMin: number; linkLatencyMsMax: number; requestTimeoutMs: number; thinkMsMax: number };

/** `--workload auth`: a cluster of real appliers with the services, the auth clients, and the verdict. */
export function makeAuthWorkload(loop: SimLoop, root: SeededRand, base: Base, link: Link, electionTimeoutMs: number) {
  const services = new ServiceRegistry({ requestTimeoutMs: link.requestTimeoutMs, electionTimeoutMs });
  let workload: AuthWorkload | undefined;
  const cluster = new SimCluster<ApplyResult, KvMachine>(loop, root.fork('cluster'), {
    ...base,
    machine: (id, onApply, clock, onState) => new KvMachine(onApply, clock, onState, (i, r) => workload?.onApplied(id, i, r)),
    onStart: (id, node, machine) => services.onStart(id, node, machine),
  });
  services.attach(cluster);
  const recorder = new HistoryRecorder();
  const wl = new AuthWorkload(loop, cluster, services, recorder, root.fork('workload'), { ...link, writers: Math.max(2, link.clients - 1) });
  workload = wl;
  return {
    cluster,
    recorder,
    completed: () => wl.completed,
    start: () => wl.start(),
    stop: () => wl.stop(),
    // A write through Raft that leaves the keyspace alone (an alarm disarm nobody raised).
    probePayload: (): Uint8Array => encodePayload({ alarm: { action: 'deactivate', memberId: '0', alarm: 'NOSPACE' } }),
    verdict: () => ({
      violations: [...wl.violations],
      findings: [],
      summary: `auth: ${wl.adminChanges} admin changes applied, ${wl.completed} writes completed, ${wl.writesApplied} member-applications of writes checked against the permissions in force, ${wl.refusalsModelAllowed} refusals of writes the permissions allowed (old auth revision), ${wl.violations.length} violations`,
    }),
  };
}
