/**
 * The HTTP/JSON gateway on a real single tsetcd member, curl-style with fetch: the same port
 * serves gRPC (checked with the gRPC client) and HTTP/1.1 JSON.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMember } from '../cli/ctl-harness.js';
import type { Member } from '../cli/ctl-harness.js';
import { createGrpcClient } from '../../src/grpc/index.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('HTTP/JSON gateway', () => {
  let member: Member;
  let base: string;
  beforeAll(async () => {
    member = await startMember();
    base = `http://127.0.0.1:${member.port}`;
  }, 30_000);
  afterAll(async () => {
    await member?.close();
  });

  const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> => {
    const res = await fetch(base + path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, text };
  };

  it('puts and ranges with base64 bytes, int64 as strings and snake_case names', async () => {
    const put = await post('/v3/kv/put', { key: b64('gw/a'), value: b64('1') });
    expect(put.status).toBe(200);
    const header = put.json.header as Record<string, string>;
    expect(typeof header.revision).toBe('string');
    expect(Object.keys(header)).toEqual(['cluster_id', 'member_id', 'revision', 'raft_term']);
    const rev = BigInt(header.revision as string);

    // camelCase input is accepted too, and prev_kv comes back in snake_case.
    const put2 = await post('/v3/kv/put', { key: b64('gw/a'), value: b64('2'), prevKv: true });
    const prev = put2.json.prev_kv as Record<string, string>;
    expect(prev).toEqual({ key: b64('gw/a'), create_revision: String(rev), mod_revision: String(rev), version: '1', value: b64('1') });

    const range = await post('/v3/kv/range', { key: b64('gw/'), range_end: b64('gw0') });
    expect(range.json.count).toBe('1');
    expect(range.json.kvs).toEqual([{ key: b64('gw/a'), create_revision: String(rev), mod_revision: String(rev + 1n), version: '2', value: b64('2') }]);
    // Defaults are omitted, as jsonpb does: no "more": false.
    expect('more' in range.json).toBe(false);
  });

  it('answers a txn with oneof fields named by their proto names', async () => {
    const txn = await post('/v3/kv/txn', {
      compare: [{ target: 'VALUE', key: b64('gw/a'), value: b64('2') }],
      success: [{ request_range: { key: b64('gw/a') } }, { requestPut: { key: b64('gw/b'), value: b64('x') } }],
      failure: [],
    });
    expect(txn.status).toBe(200);
    expect(txn.json.succeeded).toBe(true);
    const responses = txn.json.responses as Record<string, Record<string, unknown>>[];
    expect(Object.keys(responses[0] as object)).toEqual(['response_range']);
    expect((responses[0]?.response_range?.kvs as unknown[]).length).toBe(1);
    expect(Object.keys(responses[1] as object)).toEqual(['response_put']);

    const failed = await post('/v3/kv/txn', { compare: [{ target: 'VERSION', result: 'GREATER', key: b64('gw/a'), version: '100' }] });
    expect(failed.json.succeeded).toBeUndefined();
  });

  it('deletes a range and maps etcd errors to grpc-gateway statuses and bodies', async () => {
    const del = await post('/v3/kv/deleterange', { key: b64('gw/b'), prev_kv: true });
    expect(del.json.deleted).toBe('1');
    const future = await post('/v3/kv/range', { key: b64('gw/a'), revision: '1000000' });
    expect(future.status).toBe(400);
    expect(future.json).toEqual({
      error: 'etcdserver: mvcc: required revision is a future revision',
      message: 'etcdserver: mvcc: required revision is a future revision',
      code: 11,
    });
  });

  it('answers malformed JSON and ill-typed fields with 400 and code 3, and keeps serving', async () => {
    for (const body of ['{"key":', '[1,2]', '{"key": 12}', '{"key":"!!notbase64"}', '{"limit":"many"}', '{"sort_order":"SIDEWAYS"}']) {
      const r = await post('/v3/kv/range', body);
      expect(r.status, body).toBe(400);
      expect(r.json.code, body).toBe(3);
      expect(typeof r.json.error).toBe('string');
      expect(r.json.message).toBe(r.json.error);
    }
    const unknownPath = await fetch(base + '/v3/kv/nope', { method: 'POST', body: '{}' });
    expect(unknownPath.status).toBe(404);
    const ok = await post('/v3/kv/range', { key: b64('gw/a') });
    expect(ok.status).toBe(200);
  });

  it('grants, lists, inspects and revokes leases', async () => {
    const grant = await post('/v3/lease/grant', { TTL: '60' });
    expect(grant.status).toBe(200);
    const id = grant.json.ID as string;
    expect(grant.json.TTL).toBe('60');
    await post('/v3/kv/put', { key: b64('gw/leased'), value: b64('v'), lease: id });
    const ttl = await post('/v3/lease/timetolive', { ID: id, keys: true });
    expect(ttl.json.grantedTTL).toBe('60');
    expect(ttl.json.keys).toEqual([b64('gw/leased')]);
    const leases = await post('/v3/lease/leases', {});
    expect((leases.json.leases as { ID: string }[]).map((l) => l.ID)).toContain(id);
    const revoke = await post('/v3/lease/revoke', { ID: id });
    expect(revoke.status).toBe(200);
    const gone = await post('/v3/kv/range', { key: b64('gw/leased') });
    expect(gone.json.count).toBeUndefined();
    const again = await post('/v3/lease/revoke', { ID: id });
    expect(again.status).toBe(404);
    expect(again.json.error).toBe('etcdserver: requested lease not found');
  });

  it('streams watch events as {"result": ...} lines', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Promise<void>((resolve, reject) => {
      const req = httpRequest(base + '/v3/watch', { method: 'POST' }, (res) => {
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
            buffer = buffer.slice(nl + 1);
            if (lines.length === 3) {
              req.destroy();
              resolve();
            }
          }
        });
      });
      req.on('error', (e) => (lines.length === 3 ? resolve() : reject(e)));
      req.end(JSON.stringify({ create_request: { key: b64('gw/w'), prev_kv: true } }));
    });
    // Wait for the created response before writing, so both events are live ones.
    for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect((lines[0]?.result as Record<string, unknown>).created).toBe(true);
    await post('/v3/kv/put', { key: b64('gw/w'), value: b64('1') });
    await post('/v3/kv/deleterange', { key: b64('gw/w') });
    await stream;
    const events = lines.slice(1).map((l) => ((l.result as Record<string, unknown>).events as Record<string, unknown>[])[0]);
    expect((events[0]?.kv as Record<string, string>).value).toBe(b64('1'));
    expect(events[0]?.type).toBeUndefined();
    expect(events[1]?.type).toBe('DELETE');
    expect((events[1]?.prev_kv as Record<string, string>).value).toBe(b64('1'));
  });

  it('serves member list and status', async () => {
    const members = await post('/v3/cluster/member/list', {});
    expect((members.json.members as { name: string }[])[0]?.name).toBe('default');
    const status = await post('/v3/maintenance/status', {});
    expect(status.json.leader).toBe((status.json.header as Record<string, string>).member_id);
    expect(Number(status.json.dbSize)).toBeGreaterThan(0);
  });

  it('serves /health, /version and /metrics', async () => {
    const health = await fetch(base + '/health');
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('{"health":"true","reason":""}');
    expect(await (await fetch(base + '/version')).text()).toBe('{"etcdserver":"3.5.0","etcdcluster":"3.5.0"}');

    const metrics = await (await fetch(base + '/metrics')).text();
    expect(metrics).toMatch(/^etcd_server_has_leader 1$/m);
    expect(metrics).toMatch(/^etcd_server_is_leader 1$/m);
    expect(metrics).toMatch(/^etcd_mvcc_db_total_size_in_bytes [1-9]\d*$/m);
    const status = await post('/v3/maintenance/status', {});
    const revision = (status.json.header as Record<string, string>).revision;
    expect(metrics).toContain(`etcd_debugging_mvcc_current_revision ${revision}\n`);
    const puts = /grpc_server_handled_total\{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\d+)/.exec(metrics);
    expect(Number(puts?.[1])).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/grpc_server_handled_total\{grpc_code="OutOfRange",grpc_method="Range",/);
  });

  it('serves gRPC on the same port', async () => {
    const client = createGrpcClient(member.endpoint);
    try {
      const got = await client.unary('range', { key: new TextEncoder().encode('gw/a') });
      expect(new TextDecoder().decode(got.kvs[0]?.value)).toBe('2');
    } finally {
      client.close();
    }
  });
});
