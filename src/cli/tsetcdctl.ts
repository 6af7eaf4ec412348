#!/usr/bin/env node
/** `tsetcdctl`: etcdctl 3.4's commands and output for tsetcd (and etcd) clusters. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runCtl } from './ctl/main.js';
import type { CtlIo } from './ctl/io.js';

function readAllStdin(): Promise<string> {
  if (process.stdin.isTTY === true) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

// grpc-js puts an IP-address target in the TLS server name, which Node flags as deprecated
// (DEP0123) on every TLS run; etcdctl prints no such line, and scripts compare stderr.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const interrupt = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  // A second Ctrl-C leaves at once, like etcdctl when a release hangs.
  if (interrupted) process.exit(130);
  interrupted = true;
  interrupt.abort();
});

const io: CtlIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  readStdin: readAllStdin,
  interrupt: interrupt.signal,
  nowMs: () => performance.now(),
  writeFile: (path, chunks) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path + '.part', Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))), { mode: 0o600 });
    renameSync(path + '.part', path);
    return Promise.resolve();
  },
};

runCtl(process.argv.slice(2), io, { env: process.env }).then(
  (code) => {
    process.exitCode = code;
    // Output is flushed by the time the event loop drains; exit explicitly only when it does not.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
