/**
 * Ports for servers that tests and tools start as separate processes, which must be told their
 * port before they bind it. Asking the kernel for one (listen on port 0, close, hand the number
 * over) races: between the close and the child's bind, another process running in parallel (the
 * test files run side by side) can be given the same number by its own listen(0), or the kernel
 * can use it as the local end of an outgoing connection; both draw from
 * net.ipv4.ip_local_port_range (32768-60999 here). A CI run in session 5 hit it: etcdctl's
 * endpoint, a member's client port, answered from another member's peer listener (HTTP 404).
 *
 * So ports come from below that range, where neither listen(0) nor outgoing connections land,
 * each one is checked to be bindable, and an exclusive lock file per port in the temp directory
 * keeps parallel processes from taking the same one. A lock older than LOCK_TTL_MS belongs to a
 * run that has finished with it and may be taken over.
 */
import { mkdirSync, openSync, closeSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIRST_PORT = 20_000;
const LAST_PORT = 32_000;
const LOCK_TTL_MS = 15 * 60_000;
const ATTEMPTS = 200;
const LOCK_DIR = join(tmpdir(), 'tsetcd-test-ports');

/** Ports this process handed out: never twice, whatever the lock files say. */
const handedOut = new Set<number>();
let lockDirMade = false;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Takes the port's lock file: created now, or taken over when stale. False when another run holds it. */
function lock(port: number): boolean {
  const path = join(LOCK_DIR, String(port));
  try {
    closeSync(openSync(path, 'wx'));
    return true;
  } catch {
    try {
      if (Date.now() - statSync(path).mtimeMs < LOCK_TTL_MS) return false;
      const now = new Date();
      utimesSync(path, now, now);
      return true;
    } catch {
      return false;
    }
  }
}

/** A 127.0.0.1 port nobody else in this run or a parallel one is using or about to use. */
export async function freePort(): Promise<number> {
  if (!lockDirMade) {
    mkdirSync(LOCK_DIR, { recursive: true });
    lockDirMade = true;
  }
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT + 1));
    if (handedOut.has(port) || !lock(port)) continue;
    if (!(await canBind(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort: no free port in ${FIRST_PORT}-${LAST_PORT} after ${ATTEMPTS} tries`);
}
