import { compareBytes } from '../util/bytes.js';
import type { Permission } from './types.js';
import { PermissionType } from './types.js';

/**
 * Permission ranges as etcd's range_perm_cache.go decides them: each permission is an interval
 * of keys, [key, key+"\0") for a single key, [key, rangeEnd) for a range and [key, +inf) when
 * rangeEnd is "\0"; a request on [key, rangeEnd) is allowed when the union of the user's
 * intervals covers it, a request on one key when some interval holds the key. An empty end
 * stands for +inf (etcd's "affine" byte comparison).
 */
interface Interval {
  readonly begin: Uint8Array;
  /** undefined = +inf */
  readonly end: Uint8Array | undefined;
}

const ZERO = new Uint8Array([0]);

function cmpEnd(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return compareBytes(a, b);
}

function pointInterval(key: Uint8Array): Interval {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return { begin: key, end };
}

function isOpenEnd(rangeEnd: Uint8Array): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0;
}

function permInterval(p: Permission): Interval {
  if (p.rangeEnd.length === 0) return pointInterval(p.key);
  return { begin: p.key, end: isOpenEnd(p.rangeEnd) ? undefined : p.rangeEnd };
}

/** The user's intervals granting `kind` (READWRITE counts for both), sorted by begin then end. */
function intervalsFor(perms: readonly Permission[], kind: 'read' | 'write'): Interval[] {
  const wanted = kind === 'read' ? PermissionType.READ : PermissionType.WRITE;
  const out = perms.filter((p) => p.permType === wanted || p.permType === PermissionType.READWRITE).map(permInterval);
  out.sort((a, b) => compareBytes(a.begin, b.begin) || cmpEnd(a.end, b.end));
  return out;
}

/** Half-open overlap as etcd's interval tree visits: begin < other.end and other.begin < end. */
function overlaps(a: Interval, b: Interval): boolean {
  return cmpEnd(a.begin, b.end) < 0 && cmpEnd(b.begin, a.end) < 0;
}

/** etcd's IntervalTree.Contains: the visited (overlapping) intervals are contiguous and span `want`. */
function covers(intervals: readonly Interval[], want: Interval): boolean {
  let minBegin: Uint8Array | undefined;
  let maxEnd: Uint8Array | undefined;
  let seen = false;
  for (const ivl of intervals) {
    if (!overlaps(ivl, want)) continue;
    if (!seen) {
      seen = true;
      minBegin = ivl.begin;
      maxEnd = ivl.end;
      continue;
    }
    if (cmpEnd(maxEnd, ivl.begin) < 0) return false;
    if (cmpEnd(ivl.end, maxEnd) > 0) maxEnd = ivl.end;
  }
  return seen && minBegin !== undefined && cmpEnd(maxEnd, want.end) >= 0 && compareBytes(minBegin, want.begin) <= 0;
}

function holdsPoint(intervals: readonly Interval[], key: Uint8Array): boolean {
  return intervals.some((ivl) => compareBytes(ivl.begin, key) <= 0 && cmpEnd(key, ivl.end) < 0);
}

/**
 * Whether permissions `perms` (the union over a user's roles) allow `kind` on `key` (rangeEnd
 * empty) or on [key, rangeEnd) ("\0" = every key from `key` on).
 */
export function isRangePermitted(perms: readonly Permission[], key: Uint8Array, rangeEnd: Uint8Array, kind: 'read' | 'write'): boolean {
  const intervals = intervalsFor(perms, kind);
  if (rangeEnd.length === 0) return holdsPoint(intervals, key);
  return covers(intervals, { begin: key, end: isOpenEnd(rangeEnd) ? undefined : rangeEnd });
}

export { ZERO as OPEN_RANGE_END };
