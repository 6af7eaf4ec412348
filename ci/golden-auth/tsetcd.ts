/**
 * A fresh single tsetcd member in this process (free ports, temp data dir) for the auth scripts:
 * bcrypt cost 4, since no output depends on the cost and the scripts hash and check many passwords.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServerFlags } from '../../src/cli/flags.js';
import { startServer } from '../../src/cli/server-process.js';
import { createGrpcClient } from '../../src/grpc/index.js';

export interface Tsetcd {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Resolves once the member has a leader and has published itself. */
export async function startTsetcd(extraFlags: readonly string[] = []): Promise<Tsetcd> {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-auth-diff-'));
  const flags = parseServerFlags(
    [
      ...extraFlags,
      '--data-dir', dir, '--bcrypt-cost', '4', '--log-level', 'error',
      '--listen-client-urls', 'http://127.0.0.1:0', '--advertise-client-urls', 'http://127.0.0.1:2379',
      '--listen-peer-urls', 'http://127.0.0.1:0', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'default=http://127.0.0.1:2380',
    ],
    {},
  );
  const server = await startServer(flags, { onRemoved: () => undefined });
  const endpoint = `127.0.0.1:${server.clientPorts[0] as number}`;
  const client = createGrpcClient(endpoint);
  try {
    for (let i = 0; i < 200; i++) {
      const status = await client.unary('status', {}).catch(() => undefined);
      const members = await client.unary('memberList', {}).catch(() => undefined);
      if (status !== undefined && status.leader !== 0n && members?.members[0]?.name === 'default') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    client.close();
  }
  return {
    endpoint,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
