/**
 * The namespace network: a black-hole route cuts TCP between members but not from the root
 * namespace (where clients run), healing restores it, teardown leaves nothing behind.
 * Skipped, with the reason logged, only where namespaces cannot be created.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { createNetwork, namespaceProblem, NS_PREFIX } from '../../ci/jepsen/index.js';
import type { Network } from '../../ci/jepsen/index.js';

const problem = await namespaceProblem();
if (problem !== undefined) console.log(`test/jepsen/net: skipped, network namespaces unavailable: ${problem}`);

const children: ChildProcess[] = [];
let network: Network | undefined;
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await network?.teardown();
});

function run(argv: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { timeout: 15_000 }, (_e, stdout) => resolve(stdout.trim()));
  });
}

/** 'ok' if a TCP connection to host:port gets the server's greeting within 1.5 s. */
const PROBE = `const s=require('net').connect(+process.argv[2],process.argv[1]);s.on('data',()=>{console.log('ok');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},1500)`;

function probeFromRoot(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const t = setTimeout(() => (s.destroy(), resolve('timeout')), 1500);
    s.on('data', () => (clearTimeout(t), s.destroy(), resolve('ok')));
    s.on('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), resolve(e.code ?? 'error')));
  });
}

describe.skipIf(problem !== undefined)('namespace network', () => {
  it('cuts member-to-member TCP with black-hole routes, keeps client traffic, heals, tears down', async () => {
    const net = await createNetwork('netns', ['n1', 'n2'], () => undefined);
    network = net;
    expect(net.mode).toBe('netns');
    const namespaces = net.namespaces;
    expect(namespaces).toHaveLength(2);
    const listed = (await run(['ip', 'netns', 'list'])).split('\n');
    for (const ns of namespaces) expect(ns.startsWith(NS_PREFIX) && listed.some((l) => l.startsWith(`${ns} `) || l === ns)).toBe(true);
    const started: Promise<void>[] = [];
    for (const n of ['n1', 'n2']) {
      const e = net.endpoint(n);
      const argv = net.command(n, [process.execPath, '-e', `require('net').createServer(s=>s.end('hi')).listen(${e.peerPort},'${e.host}',()=>console.log('up'))`]);
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      started.push(new Promise((r) => child.stdout?.once('data', () => r())));
    }
    await Promise.all(started);
    const n1 = net.endpoint('n1');
    const n2 = net.endpoint('n2');
    const fromN1ToN2 = (): Promise<string> => run(net.command('n1', [process.execPath, '-e', PROBE, n2.host, String(n2.peerPort)]));

    expect(await probeFromRoot(n1.host, n1.peerPort)).toBe('ok');
    expect(await fromN1ToN2()).toBe('ok');

    await net.setCuts([{ from: 'n1', to: 'n2' }, { from: 'n2', to: 'n1' }]);
    expect(await fromN1ToN2()).not.toBe('ok');
    expect(await probeFromRoot(n1.host, n1.peerPort)).toBe('ok');
    expect(await probeFromRoot(n2.host, n2.peerPort)).toBe('ok');

    await net.setCuts([]);
    expect(await fromN1ToN2()).toBe('ok');

    for (const c of children) c.kill('SIGKILL');
    await net.teardown();
    const after = (await run(['ip', 'netns', 'list'])).split('\n');
    for (const ns of namespaces) expect(after.some((l) => l.startsWith(`${ns} `) || l === ns)).toBe(false);
  });
});
