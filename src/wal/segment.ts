import { assert } from '../util/index.js';

/**
 * Segment file names, as etcd's: `<seq:016x>-<firstIndex:016x>.wal`. `firstIndex` is the index
 * the next entry had when the segment was cut, so a reader starting from snapshot index S opens
 * the last segment whose firstIndex <= S and never needs the ones before it.
 */
export interface SegmentName {
  readonly seq: number;
  readonly firstIndex: number;
  readonly name: string;
}

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
export const TMP_SUFFIX = '.tmp';

export function segmentName(seq: number, firstIndex: number): string {
  assert(Number.isSafeInteger(seq) && seq >= 0, `bad segment seq ${seq}`);
  assert(Number.isSafeInteger(firstIndex) && firstIndex >= 0, `bad segment index ${firstIndex}`);
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

export function parseSegmentName(name: string): SegmentName | undefined {
  const match = SEGMENT_RE.exec(name);
  if (!match) return undefined;
  const seq = parseInt(match[1] as string, 16);
  const firstIndex = parseInt(match[2] as string, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex, name };
}

export function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}

/**
 * The contiguous run of segments ending at the newest one. Older files cut off by a gap are
 * leftovers of an interrupted releaseTo (removals are not ordered on disk) and are ignored;
 * a gap the reader would actually need surfaces as "no segment covers the snapshot".
 */
export function contiguousTail(segments: readonly SegmentName[]): {
  run: SegmentName[];
  stale: SegmentName[];
} {
  const sorted = [...segments].sort((a, b) => a.seq - b.seq);
  let start = sorted.length - 1;
  while (start > 0 && (sorted[start - 1] as SegmentName).seq === (sorted[start] as SegmentName).seq - 1) {
    start--;
  }
  // firstIndex may go down from one segment to the next: a conflicting suffix can shrink the
  // log before a cut. Starting at the last segment with firstIndex <= S is still enough: when
  // that segment began, the log ended below S, so entries above S in older ones were dead.
  return { run: sorted.slice(Math.max(start, 0)), stale: sorted.slice(0, Math.max(start, 0)) };
}

/** Position in `run` of the last segment with firstIndex <= index. */
export function searchIndex(run: readonly SegmentName[], index: number): number | undefined {
  for (let i = run.length - 1; i >= 0; i--) {
    if ((run[i] as SegmentName).firstIndex <= index) return i;
  }
  return undefined;
}
