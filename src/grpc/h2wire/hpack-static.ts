/** The HPACK static table (RFC 7541 Appendix A): index i (1..61) is STATIC_TABLE[i - 1]. */

export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

export const STATIC_TABLE_LENGTH = 61;

/** Static names and values as flat arrays, indexed by the HPACK index (slot 0 unused). */
export const STATIC_NAMES: readonly string[] = ['', ...STATIC_TABLE.map((e) => e[0])];
export const STATIC_VALUES: readonly string[] = ['', ...STATIC_TABLE.map((e) => e[1])];

/** For the encoder: name -> lowest index with that name, and (value -> index) of that name. */
export interface StaticNameEntry {
  readonly nameIndex: number;
  readonly valueIndex: ReadonlyMap<string, number>;
}

function buildStaticLookup(): ReadonlyMap<string, StaticNameEntry> {
  const lookup = new Map<string, { nameIndex: number; valueIndex: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let entry = lookup.get(name);
    if (entry === undefined) {
      entry = { nameIndex: i + 1, valueIndex: new Map() };
      lookup.set(name, entry);
    }
    if (!entry.valueIndex.has(value)) entry.valueIndex.set(value, i + 1);
  });
  return lookup;
}

export const STATIC_LOOKUP: ReadonlyMap<string, StaticNameEntry> = buildStaticLookup();
