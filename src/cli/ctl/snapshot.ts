/**
 * snapshot restore|status: etcdctl 3.4's flags, output and errors, on the snapshot files
 * tsetcd members stream (src/cli/snapshot-file.ts). Neither needs a connection.
 */
import { restoreSnapshot } from '../snapshot-restore.js';
import { SnapshotFileError, snapshotStatus } from '../snapshot-file.js';
import { flagBool, flagString } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode } from './io.js';
import type { CtlContext } from './io.js';
import { checkWriteOut, humanizeBytes } from './print.js';
import { renderTable } from './table.js';

/** etcdctl's restore flags; peer URL defaults follow tsetcd's server (127.0.0.1, not localhost). */
export const SNAPSHOT_FLAGS: FlagSpecs = {
  'data-dir': { kind: 'string', default: '' },
  'wal-dir': { kind: 'string', default: '' },
  name: { kind: 'string', default: 'default' },
  'initial-cluster': { kind: 'string', default: 'default=http://127.0.0.1:2380' },
  'initial-cluster-token': { kind: 'string', default: 'etcd-cluster' },
  'initial-advertise-peer-urls': { kind: 'string', default: 'http://127.0.0.1:2380' },
  'skip-hash-check': { kind: 'bool', default: 'false' },
};

/** zap's JSON line, as etcdctl 3.4 logs restore progress on stderr. */
function logLine(msg: string, fields: Record<string, string>): string {
  return JSON.stringify({ level: 'info', ts: Date.now() / 1000, caller: 'snapshot/v3_snapshot.go', msg, ...fields }) + '\n';
}

export function snapshotRestore(ctx: CtlContext, args: ParsedArgs): void {
  const path = args.positionals[1];
  if (path === undefined || args.positionals.length !== 2) throw new CtlError(ExitCode.BadArgs, 'snapshot restore requires exactly one argument');
  if (flagString(args, 'wal-dir') !== '') throw new CtlError(ExitCode.BadArgs, 'tsetcd keeps the WAL inside --data-dir; --wal-dir is not supported');
  const name = flagString(args, 'name');
  const dataDir = flagString(args, 'data-dir') || `${name}.tsetcd`;
  const fields = { path, 'wal-dir': `${dataDir}/member/wal`, 'data-dir': dataDir, 'snap-dir': `${dataDir}/member/snap` };
  ctx.io.err(logLine('restoring snapshot', fields));
  try {
    restoreSnapshot({
      snapshotPath: path,
      name,
      dataDir,
      initialCluster: flagString(args, 'initial-cluster'),
      initialClusterToken: flagString(args, 'initial-cluster-token'),
      initialAdvertisePeerUrls: flagString(args, 'initial-advertise-peer-urls'),
      skipHashCheck: flagBool(args, 'skip-hash-check'),
    });
  } catch (error) {
    if (error instanceof SnapshotFileError) throw new CtlError(ExitCode.Error, error.message);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CtlError(ExitCode.Error, `open ${path}: no such file or directory`);
    throw error;
  }
  ctx.io.err(logLine('restored snapshot', fields));
}

export function snapshotStatusCommand(ctx: CtlContext, args: ParsedArgs): void {
  const path = args.positionals[1];
  if (path === undefined || args.positionals.length !== 2) throw new CtlError(ExitCode.BadArgs, 'snapshot status requires exactly one argument');
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'table', 'fields']);
  let s;
  try {
    s = snapshotStatus(path);
  } catch (error) {
    if (error instanceof SnapshotFileError) throw new CtlError(ExitCode.Error, error.message);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CtlError(ExitCode.Error, `stat ${path}: no such file or directory`);
    throw error;
  }
  const hash = s.hash.toString(16);
  switch (ctx.global.writeOut) {
    case 'json':
      return ctx.io.out(JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize }) + '\n');
    case 'table':
      return ctx.io.out(renderTable(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], [[hash, String(s.revision), String(s.totalKey), humanizeBytes(BigInt(s.totalSize))]]));
    case 'fields':
      return ctx.io.out(`"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`);
    default:
      return ctx.io.out(`${hash}, ${s.revision}, ${s.totalKey}, ${humanizeBytes(BigInt(s.totalSize))}\n`);
  }
}
