import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerTransport, encodeBatch, frame, peerRequest } from '../../src/grpc/index.js';
import type { LogFields, Logger } from '../../src/env/index.js';
import { emptyMessage } from '../../src/raft/index.js';
import type { Message } from '../../src/raft/index.js';
import { nodeId } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';

const A = nodeId('000000000000000a');
const B = nodeId('000000000000000b');
const CLUSTER = '00000000000000c1';

/** Keeps warnings so tests can see the log line a rejection must leave. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn(message: string, fields?: LogFields) {
      lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
    },
    error(message: string, fields?: LogFields) {
      lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
    },
    child() {
      return logger;
    },
  };
  return logger;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const open: PeerTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Pair {
  a: PeerTransport;
  b: PeerTransport;
  receivedByB: Message[];
  logsB: string[];
  portB: number;
}

async function pair(options: { clusterB?: string } = {}): Promise<Pair> {
  const urls = new Map<NodeId, string>();
  const logsB: string[] = [];
  const a = new PeerTransport({ selfId: A, clusterId: CLUSTER, peerUrls: (id) => (urls.has(id) ? [urls.get(id) as string] : undefined), logger: recordingLogger([]), backoffMsMin: 10, backoffMsMax: 50 });
  const b = new PeerTransport({ selfId: B, clusterId: options.clusterB ?? CLUSTER, peerUrls: (id) => (urls.has(id) ? [urls.get(id) as string] : undefined), logger: recordingLogger(logsB) });
  open.push(a, b);
  const portA = await a.listen('http://127.0.0.1:0');
  const portB = await b.listen('http://127.0.0.1:0');
  urls.set(A, `http://127.0.0.1:${portA}`);
  urls.set(B, `http://127.0.0.1:${portB}`);
  const receivedByB: Message[] = [];
  b.onReceive((from, m) => {
    expect(from).toBe(A);
    receivedByB.push(m);
  });
  return { a, b, receivedByB, logsB, portB };
}

const heartbeat = (commit: number): Message => ({ ...emptyMessage({ type: 'heartbeat', from: A, to: B }), term: 3, commit });

/** Sends one heartbeat per macrotask until the stream is established (the first ones may be dropped). */
async function connect(p: Pair): Promise<void> {
  await waitFor(() => {
    p.a.send(B, heartbeat(0));
    return p.a.isActive(B) && p.receivedByB.length > 0;
  }, 'stream established');
}

describe('peer transport over HTTP/2', () => {
  it('delivers messages in order and batches the messages of one tick into one frame', async () => {
    const p = await pair();
    await connect(p);
    const framesBefore = p.a.stats.sentFrames;
    for (let i = 1; i <= 50; i++) p.a.send(B, heartbeat(i)); // all in one macrotask
    const numbered = (): number[] => p.receivedByB.map((m) => m.commit).filter((c) => c > 0); // connect() sent commit 0
    await waitFor(() => numbered().length === 50, 'all 50 messages');
    expect(numbered()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(p.a.stats.sentFrames - framesBefore).toBe(1);
    expect(p.b.isActive(A)).toBe(true); // inbound stream counts as active
  });

  it('streams a large snapshot in chunks on its own request', async () => {
    const p = await pair();
    await connect(p);
    const data = new Uint8Array(6 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const snap: Message = {
      ...emptyMessage({ type: 'snap', from: A, to: B }),
      term: 4,
      snapshot: { meta: { index: 100, term: 4, confState: { voters: [A, B], learners: [] } }, data },
    };
    p.a.send(B, snap);
    p.a.send(B, heartbeat(77)); // not stuck behind the snapshot
    await waitFor(() => p.receivedByB.some((m) => m.type === 'snap'), 'snapshot', 15_000);
    const got = p.receivedByB.find((m) => m.type === 'snap');
    expect(got?.snapshot?.meta.index).toBe(100);
    expect(Buffer.from(got?.snapshot?.data ?? []).equals(Buffer.from(data))).toBe(true);
    expect(p.receivedByB.some((m) => m.commit === 77)).toBe(true);
    expect(p.b.stats.snapshotsReceived).toBe(1);
    await waitFor(() => p.a.stats.snapshotsSent === 1, 'sender saw the 200');
  });

  it('refuses a stream from another cluster with a log line, delivering nothing', async () => {
    const p = await pair({ clusterB: '00000000000000ff' });
    for (let i = 0; i < 20; i++) {
      p.a.send(B, heartbeat(i));
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => p.b.stats.rejectedStreams > 0, 'rejection');
    expect(p.receivedByB).toEqual([]);
    expect(p.logsB.some((l) => l.includes('cluster id mismatch'))).toBe(true);
    expect(p.a.isActive(B)).toBe(false);
  });

  it('closes a stream that sends garbage, logs it, and keeps serving others', async () => {
    const p = await pair();
    const session = http2.connect(`http://127.0.0.1:${p.portB}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/raft/stream', 'x-tsetcd-cluster-id': CLUSTER, 'x-tsetcd-from': A, 'x-tsetcd-to': B }, { endStream: false });
    stream.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
    stream.write(frame(Buffer.from('this is not a raft batch')));
    expect(await closed).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    session.destroy();
    expect(p.logsB.some((l) => l.includes('undecodable') && l.includes('bad magic'))).toBe(true);
    // A message for another member is refused the same way (Raft would assert on it).
    const wrongTo = encodeBatch([{ ...heartbeat(1), to: A }]);
    const s2 = http2.connect(`http://127.0.0.1:${p.portB}`);
    s2.on('error', () => undefined);
    const st2 = s2.request({ ':method': 'POST', ':path': '/raft/stream', 'x-tsetcd-cluster-id': CLUSTER, 'x-tsetcd-from': A, 'x-tsetcd-to': B }, { endStream: false });
    st2.on('error', () => undefined);
    const closed2 = new Promise<void>((resolve) => st2.on('close', () => resolve()));
    st2.write(frame(wrongTo));
    await closed2;
    s2.destroy();
    expect(p.receivedByB).toEqual([]);
    // The real peer still gets through.
    await connect(p);
  });

  it('drops instead of blocking while the peer is down, and reconnects when it is back', async () => {
    const urls = new Map<NodeId, string>();
    const a = new PeerTransport({ selfId: A, clusterId: CLUSTER, peerUrls: (id) => (urls.has(id) ? [urls.get(id) as string] : undefined), logger: recordingLogger([]), backoffMsMin: 10, backoffMsMax: 40 });
    open.push(a);
    // Reserve a port, then free it: nobody listens there yet.
    const probe = new PeerTransport({ selfId: B, clusterId: CLUSTER, peerUrls: () => undefined, logger: recordingLogger([]) });
    const port = await probe.listen('http://127.0.0.1:0');
    await probe.close();
    urls.set(B, `http://127.0.0.1:${port}`);
    for (let i = 0; i < 30; i++) {
      expect(() => a.send(B, heartbeat(i))).not.toThrow();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => a.stats.droppedMessages > 0, 'drops while down');
    expect(a.send(nodeId('00000000000000ee'), heartbeat(1))).toBeUndefined(); // unknown member: dropped
    const b = new PeerTransport({ selfId: B, clusterId: CLUSTER, peerUrls: () => undefined, logger: recordingLogger([]) });
    open.push(b);
    const got: Message[] = [];
    b.onReceive((_from, m) => got.push(m));
    await b.listen(`http://127.0.0.1:${port}`);
    await waitFor(() => {
      a.send(B, heartbeat(999));
      // The 200 may reach the sender after the peer already took the data: wait for both.
      return got.some((m) => m.commit === 999) && a.isActive(B);
    }, 'delivery after reconnect');
  });

  it('refuses a removed member with 410, and tells the sender it was removed', async () => {
    const urls = new Map<NodeId, string>();
    let told = 0;
    const a = new PeerTransport({ selfId: A, clusterId: CLUSTER, peerUrls: (id) => (urls.has(id) ? [urls.get(id) as string] : undefined), logger: recordingLogger([]), backoffMsMin: 10, onRemovedByPeer: () => told++ });
    const logsB: string[] = [];
    const b = new PeerTransport({ selfId: B, clusterId: CLUSTER, peerUrls: () => undefined, logger: recordingLogger(logsB), isRemoved: (id) => id === A });
    open.push(a, b);
    const got: Message[] = [];
    b.onReceive((_f, m) => got.push(m));
    urls.set(B, `http://127.0.0.1:${await b.listen('http://127.0.0.1:0')}`);
    await waitFor(() => {
      a.send(B, heartbeat(1));
      return told > 0;
    }, 'the sender to hear it was removed');
    expect(got).toEqual([]);
    expect(logsB.some((l) => l.includes('removed from the cluster'))).toBe(true);
  });

  it('closes promptly while a peer still holds its session open', async () => {
    const p = await pair();
    await connect(p);
    const closed = p.b.close().then(() => 'closed');
    const bound = new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000));
    expect(await Promise.race([closed, bound])).toBe('closed');
    await waitFor(() => !p.a.isActive(B), 'the sender to notice');
  });

  it('serves JSON routes for joiners and forwarded requests', async () => {
    const p = await pair();
    p.b.route('/members', () => Promise.resolve({ members: [{ id: B }] }));
    p.b.route('/echo', (body) => Promise.resolve({ got: body }));
    expect(await peerRequest(`http://127.0.0.1:${p.portB}`, '/members', undefined, 2000)).toEqual({ members: [{ id: B }] });
    expect(await peerRequest(`http://127.0.0.1:${p.portB}`, '/echo', { x: 1 }, 2000)).toEqual({ got: { x: 1 } });
    await expect(peerRequest(`http://127.0.0.1:${p.portB}`, '/nope', undefined, 2000)).rejects.toThrow(/404/);
  });
});
