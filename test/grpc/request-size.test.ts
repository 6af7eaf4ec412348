import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc/index.js';
import { startMember } from '../cli/ctl-harness.js';
import type { Member } from '../cli/ctl-harness.js';

/**
 * etcd measures --max-request-bytes (default 1.5 MiB) on the marshalled raft request, not the
 * client's message: on etcd 3.4.23 a put of key "k" passes with a 1,572,840-byte value and is
 * refused at 1,572,841. Clients see INVALID_ARGUMENT "etcdserver: request is too large".
 */
describe('request size limit', () => {
  let member: Member;
  beforeAll(async () => {
    member = await startMember();
  }, 60_000);
  afterAll(async () => {
    await member.close();
  });

  it('refuses exactly where etcd does, and the store keeps serving', async () => {
    const client = createGrpcClient(member.endpoint);
    try {
      const key = new TextEncoder().encode('k');
      await expect(client.unary('put', { key, value: new Uint8Array(1_572_840) })).resolves.toBeDefined();
      await expect(client.unary('put', { key, value: new Uint8Array(1_572_841) })).rejects.toMatchObject({
        grpcCode: 3,
        message: 'etcdserver: request is too large',
      });
      const got = await client.unary('range', { key });
      expect(got.kvs[0]?.value.length).toBe(1_572_840);
    } finally {
      client.close();
    }
  }, 60_000);
});
