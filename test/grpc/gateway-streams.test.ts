/**
 * Issue 7: the HTTP/JSON gateway's streaming routes (/v3/watch, /v3/lease/keepalive,
 * /v3/election/observe: one {"result": ...} JSON object per line, as grpc-gateway streams them)
 * and the /v3/lock/* and /v3/election/* routes. The same requests go to a real etcd 3.4 and to
 * a tsetcd process; the answers must match once ids (cluster, member, lease) are normalised.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually } from '../cluster/harness.js';
import { RealEtcdCluster, haveEtcd } from '../compat/etcd-harness.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const clusters: LocalCluster[] = [];

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
});

interface Exchange {
  readonly path: string;
  readonly status: number;
  readonly lines: unknown[];
}

/** POSTs `body`; reads JSON lines until `maxLines` arrived (then hangs up) or the answer ends. */
async function post(base: string, path: string, body: string, maxLines = Infinity): Promise<Exchange> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const lines: unknown[] = [];
  let status = 0;
  try {
    const res = await fetch(base + path, { method: 'POST', body, signal: controller.signal });
    status = res.status;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let buffered = '';
    while (lines.length < maxLines) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += Buffer.from(value).toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0 && lines.length < maxLines) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line !== '') lines.push(JSON.parse(line) as unknown);
      }
    }
    if (buffered.trim() !== '' && lines.length < maxLines) lines.push(JSON.parse(buffered) as unknown);
    controller.abort();
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return { path, status, lines };
}

/** Runs the gateway script against one server; returns the exchanges, ids normalised. */
async function script(base: string): Promise<Exchange[]> {
  const out: Exchange[] = [];
  await post(base, '/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('bar') }));
  const grant = await post(base, '/v3/lease/grant', JSON.stringify({ TTL: 30 }));
  out.push(grant);
  const leaseId = String((grant.lines[0] as { ID: string }).ID);
  out.push(await post(base, '/v3/lease/keepalive', `{"ID":"${leaseId}"}\n{"ID":"${leaseId}"}\n`));
  out.push(await post(base, '/v3/lease/keepalive', '{"ID":"12345"}'));
  out.push(await post(base, '/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('baz'), lease: leaseId })));
  out.push(await post(base, '/v3/watch', JSON.stringify({ create_request: { key: b64('foo'), start_revision: '1', prev_kv: true } }), 2));
  out.push(await post(base, '/v3/watch', JSON.stringify({ create_request: { key: b64('f'), range_end: b64('g'), start_revision: '3' } }), 2));
  const lock = await post(base, '/v3/lock/lock', JSON.stringify({ name: b64('mylock'), lease: leaseId }));
  out.push(lock);
  out.push(await post(base, '/v3/kv/range', JSON.stringify({ key: b64('mylock/'), range_end: b64('mylock0') })));
  out.push(await post(base, '/v3/lock/unlock', JSON.stringify({ key: (lock.lines[0] as { key: string }).key })));
  const campaign = await post(base, '/v3/election/campaign', JSON.stringify({ name: b64('myelection'), lease: leaseId, value: b64('v1') }));
  out.push(campaign);
  const leader = (campaign.lines[0] as { leader: unknown }).leader;
  out.push(await post(base, '/v3/election/proclaim', JSON.stringify({ leader, value: b64('v2') })));
  out.push(await post(base, '/v3/election/leader', JSON.stringify({ name: b64('myelection') })));
  out.push(await post(base, '/v3/election/observe', JSON.stringify({ name: b64('myelection') }), 1));
  out.push(await post(base, '/v3/election/resign', JSON.stringify({ leader })));
  out.push(await post(base, '/v3/election/leader', JSON.stringify({ name: b64('myelection') })));
  out.push(await post(base, '/v3/lock/unlock', '{"key": 12'));
  // Go's json.Decoder reads values back to back, without newlines too.
  out.push(await post(base, '/v3/lease/keepalive', `{"ID":"${leaseId}"}{"ID":"${leaseId}"} {"ID":"${leaseId}"}`));
  return normalise(out, leaseId);
}

function normalise(exchanges: Exchange[], leaseId: string): Exchange[] {
  const leaseHex = BigInt(leaseId).toString(16);
  const fix = (v: unknown, field = ''): unknown => {
    if (Array.isArray(v)) return v.map((x) => fix(x));
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (!['cluster_id', 'member_id', 'raft_term'].includes(k)) o[k] = fix(x, k);
      return o;
    }
    if (typeof v !== 'string') return v;
    if (v === leaseId) return '<lease>';
    if (['key', 'name', 'value'].includes(field)) return Buffer.from(v, 'base64').toString('utf8').replace(leaseHex, '<lease>');
    return v;
  };
  return exchanges.map((e) => ({ ...e, lines: e.lines.map((l) => fix(l)) }));
}

async function serve(cluster: LocalCluster): Promise<string> {
  clusters.push(cluster);
  await cluster.define('gw');
  cluster.start('gw', ['gw']);
  await eventually('the member to serve', 30_000, async () => ((await cluster.ctl(['put', 'probe', 'x'], [cluster.endpoint('gw')])).code === 0 ? true : undefined));
  await cluster.ok(['del', 'probe'], [cluster.endpoint('gw')]);
  return `http://${cluster.endpoint('gw')}`;
}

describe('gateway streaming, lock and election routes', () => {
  it.runIf(haveEtcd())('answer as etcd 3.4 gateway does', async () => {
    const [etcdBase, oursBase] = await Promise.all([serve(new RealEtcdCluster()), serve(new LocalCluster())]);
    const [theirs, ours] = await Promise.all([script(etcdBase), script(oursBase)]);
    // The script did what it says on etcd: two keep-alive lines, watch events, a lock key.
    expect(theirs[1]?.lines.length).toBe(2);
    expect(JSON.stringify(theirs[4]?.lines)).toContain('"events"');
    expect(JSON.stringify(theirs[6])).toContain('mylock/<lease>');
    expect(theirs[theirs.length - 1]?.lines.length).toBe(3);
    ours.forEach((e, i) => expect(e, `exchange ${i} ${e.path}`).toEqual(theirs[i]));
  }, 60_000);
});
