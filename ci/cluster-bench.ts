/**
 * Rough throughput and latency of a real local 3-member cluster (separate processes, HTTP/2
 * peer transport, WAL fsync, LMDB): sequential puts, then puts with many in flight, against
 * the leader, from one client process. Figures are for orders of magnitude on a shared box.
 *
 *   npx tsx ci/cluster-bench.ts [--members 3] [--puts 4000] [--inflight 64]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGrpcClient } from '../src/grpc/index.js';
import type { EtcdGrpcClient } from '../src/grpc/index.js';
import { freePort } from './free-port.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'tsetcd-bench-'));
  const names = ['b1', 'b2', 'b3'].slice(0, arg('--members', 3));
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]?.peer}`).join(',');
  const children: ChildProcess[] = names.map((name, i) => {
    const p = ports[i] as { client: number; peer: number };
    return spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'src/cli/tsetcd.ts'), '--name', name, '--data-dir', join(root, name),
        '--listen-client-urls', `http://127.0.0.1:${p.client}`, '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${p.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-cluster', initialCluster, '--log-level', 'warn'],
      { cwd: repo, stdio: 'ignore' },
    );
  });
  const clients: EtcdGrpcClient[] = ports.map((p) => createGrpcClient(`127.0.0.1:${p.client}`, { ownConnection: true }));
  try {
    let leader: EtcdGrpcClient | undefined;
    for (let i = 0; i < 200 && !leader; i++) {
      for (const c of clients) {
        try {
          const s = await c.unary('status', {}, { deadlineMs: 500 });
          if (s.leader !== 0n && s.leader === s.header?.memberId) leader = c;
        } catch {
          // not up yet
        }
      }
      if (!leader) await sleep(200);
    }
    if (!leader) throw new Error('no leader');
    const value = new Uint8Array(256).fill(7);
    const key = (i: number): Uint8Array => new TextEncoder().encode(`bench-${String(i).padStart(8, '0')}`);
    const sequential = 500;
    const latenciesMs: number[] = [];
    for (let i = 0; i < sequential; i++) {
      const t0 = performance.now();
      await leader.unary('put', { key: key(i), value });
      latenciesMs.push(performance.now() - t0);
    }
    latenciesMs.sort((a, b) => a - b);
    const pct = (q: number): string => (latenciesMs[Math.floor(q * (latenciesMs.length - 1))] ?? 0).toFixed(2);
    console.log(`sequential puts: ${sequential}, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
    const total = arg('--puts', 4000);
    const inflight = arg('--inflight', 64);
    let next = 0;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (next < total) await (leader as EtcdGrpcClient).unary('put', { key: key(sequential + next++), value });
    };
    await Promise.all(Array.from({ length: inflight }, worker));
    const seconds = (performance.now() - t0) / 1000;
    console.log(`pipelined puts: ${total} with ${inflight} in flight in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} puts/s`);
  } finally {
    for (const c of clients) c.close();
    for (const child of children) child.kill('SIGTERM');
    await sleep(1500);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
