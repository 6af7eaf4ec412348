/**
 * tsetcdctl's auth parts that the differential scripts cannot reach: the login's token handling
 * (token on every call and stream, re-login on a rejected token, no login without a password),
 * password prompts, 3.5's `auth status`, etcdctl's root-role repair in `auth enable`, and the
 * permission ranges. A scripted fake client stands in for the server and records every call.
 */
import { describe, expect, it } from 'vitest';
import { startTsetcd } from '../../ci/golden-auth/tsetcd.js';
import { permRange, prefixRangeEnd, roleGetText } from '../../src/cli/ctl/auth.js';
import type { CtlIo } from '../../src/cli/ctl/io.js';
import { envArgs, runCtl } from '../../src/cli/ctl/main.js';
import { goQuote } from '../../src/cli/ctl/print.js';
import { GrpcCode, Permission_Type, createGrpcClient, isGrpcStatusError } from '../../src/grpc/index.js';
import type { ClientCallOptions, EtcdGrpcClient } from '../../src/grpc/index.js';
import { ours } from './ctl-harness.js';

interface Call {
  readonly key: string;
  readonly request: unknown;
  readonly token: string | undefined;
}

type Answer = (request: Record<string, unknown>, token: string | undefined) => unknown;

const header = { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n };
const statusError = (message: string, grpcCode: number = GrpcCode.FAILED_PRECONDITION): { grpcCode: number; message: string } => ({ grpcCode, message });

/** Answers calls from a table (a function per RPC, or a queue of them); unknown RPCs fail. */
function fakeClient(answers: Record<string, Answer | Answer[]>, calls: Call[]): EtcdGrpcClient {
  const answer = (key: string, request: unknown, options: ClientCallOptions): unknown => {
    calls.push({ key, request, token: options.token });
    const a = answers[key];
    const f = Array.isArray(a) ? (a.length > 1 ? a.shift() : a[0]) : a;
    if (f === undefined) throw statusError(`unexpected ${key}`, GrpcCode.UNIMPLEMENTED);
    return f(request as Record<string, unknown>, options.token);
  };
  const client = {
    unary: (key: string, request: unknown, options: ClientCallOptions = {}) => {
      try {
        return Promise.resolve(answer(key, request, options));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    bidi: (key: string, options: ClientCallOptions = {}) => {
      calls.push({ key, request: undefined, token: options.token });
      return {
        send: () => undefined,
        end: () => undefined,
        cancel: () => undefined,
        [Symbol.asyncIterator]: async function* () {
          yield* [];
          throw statusError('etcdserver: permission denied', GrpcCode.PERMISSION_DENIED);
        },
      };
    },
    serverStream: () => {
      throw new Error('not used');
    },
    close: () => undefined,
  };
  return client as unknown as EtcdGrpcClient;
}

async function run(
  argv: readonly string[],
  client: EtcdGrpcClient,
  stdin = '',
  env: Record<string, string> = {},
): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const io: CtlIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readStdin: () => Promise.resolve(stdin),
    interrupt: new AbortController().signal,
    nowMs: () => 0,
    writeFile: () => Promise.reject(new Error('no files')),
  };
  const code = await runCtl(argv, io, { connect: () => client, env });
  return { out, err, code };
}

const rangeResponse = (): unknown => ({ header, kvs: [], more: false, count: 0n });

describe('--user login', () => {
  it('authenticates once and sends the token with every call', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ authenticate: () => ({ header, token: 'tok.1' }), range: rangeResponse }, calls);
    const r = await run(['--user=alice:pw', 'get', 'k'], client);
    expect(r).toEqual({ out: '', err: '', code: 0 });
    expect(calls.map((c) => [c.key, c.token])).toEqual([['authenticate', undefined], ['range', 'tok.1']]);
    expect(calls[0]?.request).toEqual({ name: 'alice', password: 'pw' });
  });

  it('logs in again and retries once when the token is refused', async () => {
    for (const refusal of ['etcdserver: invalid auth token', 'etcdserver: revision of auth store is old', 'etcdserver: user name is empty']) {
      const calls: Call[] = [];
      let n = 0;
      const client = fakeClient(
        {
          authenticate: () => ({ header, token: `tok.${++n}` }),
          range: (_r, token) => {
            if (token === 'tok.1') throw statusError(refusal, GrpcCode.UNAUTHENTICATED);
            return rangeResponse();
          },
        },
        calls,
      );
      const r = await run(['--user=alice:pw', 'get', 'k'], client);
      expect(r.code, refusal).toBe(0);
      expect(calls.map((c) => [c.key, c.token])).toEqual([['authenticate', undefined], ['range', 'tok.1'], ['authenticate', undefined], ['range', 'tok.2']]);
    }
  });

  it('gives up after one retry, with the server error', async () => {
    const calls: Call[] = [];
    const client = fakeClient(
      {
        authenticate: () => ({ header, token: 't' }),
        range: () => {
          throw statusError('etcdserver: invalid auth token', GrpcCode.UNAUTHENTICATED);
        },
      },
      calls,
    );
    const r = await run(['--user=alice:pw', 'get', 'k'], client);
    expect(r).toEqual({ out: '', err: 'Error: etcdserver: invalid auth token\n', code: 1 });
    expect(calls.filter((c) => c.key === 'range')).toHaveLength(2);
  });

  it('does not retry other errors, and a call without a token does not retry "user name is empty"', async () => {
    const calls: Call[] = [];
    const client = fakeClient(
      {
        range: () => {
          throw statusError('etcdserver: user name is empty', GrpcCode.INVALID_ARGUMENT);
        },
      },
      calls,
    );
    // "alice:" has an empty password: clientv3 does not authenticate at all.
    const r = await run(['--user=alice:', 'get', 'k'], client);
    expect(r).toEqual({ out: '', err: 'Error: etcdserver: user name is empty\n', code: 1 });
    expect(calls.map((c) => c.key)).toEqual(['range']);
  });

  it('ends with exit code 2 when the login fails, before the command runs', async () => {
    const calls: Call[] = [];
    const client = fakeClient(
      {
        authenticate: () => {
          throw statusError('etcdserver: authentication failed, invalid user ID or password', GrpcCode.INVALID_ARGUMENT);
        },
      },
      calls,
    );
    const r = await run(['--user=alice:bad', 'put', 'k', 'v'], client);
    expect(r).toEqual({ out: '', err: 'Error: etcdserver: authentication failed, invalid user ID or password\n', code: 2 });
    expect(calls.map((c) => c.key)).toEqual(['authenticate']);
  });

  it('checks arguments before logging in, as etcdctl builds its client after them', async () => {
    const calls: Call[] = [];
    const r = await run(['--user=alice:bad', 'user', 'add'], fakeClient({}, calls));
    expect(r).toEqual({ out: '', err: 'Error: user add command requires user name as its argument\n', code: 128 });
    expect(calls).toEqual([]);
  });

  it('logs in again on "user name is empty" after a login that found auth off (enabled meanwhile)', async () => {
    const calls: Call[] = [];
    const client = fakeClient(
      {
        authenticate: [
          () => {
            throw statusError('etcdserver: authentication is not enabled');
          },
          () => ({ header, token: 'tok.late' }),
        ],
        range: (_r, token) => {
          if (token === undefined) throw statusError('etcdserver: user name is empty', GrpcCode.INVALID_ARGUMENT);
          return rangeResponse();
        },
      },
      calls,
    );
    expect((await run(['--user=alice:pw', 'get', 'k'], client)).code).toBe(0);
    expect(calls.map((c) => [c.key, c.token])).toEqual([['authenticate', undefined], ['range', undefined], ['authenticate', undefined], ['range', 'tok.late']]);
  });

  it('goes on without a token when auth is not enabled', async () => {
    const calls: Call[] = [];
    const client = fakeClient(
      {
        authenticate: () => {
          throw statusError('etcdserver: authentication is not enabled');
        },
        range: rangeResponse,
      },
      calls,
    );
    expect((await run(['--user=alice:pw', 'get', 'k'], client)).code).toBe(0);
    expect(calls.map((c) => [c.key, c.token])).toEqual([['authenticate', undefined], ['range', undefined]]);
  });

  it('takes --password whole (the user name keeps its colons) and prompts when there is no password', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ authenticate: () => ({ header, token: 't' }), range: rangeResponse }, calls);
    await run(['--user=svc:a', '--password=p:q', 'get', 'k'], client);
    expect(calls[0]?.request).toEqual({ name: 'svc:a', password: 'p:q' });
    calls.length = 0;
    const r = await run(['--user=bob', 'get', 'k'], client, 'secret\n');
    expect(calls[0]?.request).toEqual({ name: 'bob', password: 'secret' });
    expect(r.out).toBe('Password: \n');
  });

  it('opens streams with the token (watch)', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ authenticate: () => ({ header, token: 'tok.w' }) }, calls);
    const r = await run(['--user=alice:pw', 'watch', 'k'], client);
    expect(calls.map((c) => [c.key, c.token])).toEqual([['authenticate', undefined], ['watch', 'tok.w']]);
    expect(r.code).not.toBe(0);
  });
});

describe('ETCDCTL_* environment', () => {
  it('sets global flags, ignores ETCDCTL_API and unknown names, and refuses a flag given twice', () => {
    expect(envArgs({ ETCDCTL_API: '3', ETCDCTL_USER: 'a:b', ETCDCTL_WRITE_OUT: 'json', ETCDCTL_BOGUS: '1', PATH: '/bin' }, ['get', 'k'])).toEqual([
      '--user=a:b',
      '--write-out=json',
    ]);
    expect(() => envArgs({ ETCDCTL_USER: 'a:b' }, ['--user=c:d', 'get', 'k'])).toThrow(
      'conflicting environment variable "ETCDCTL_USER" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
    );
    expect(() => envArgs({ ETCDCTL_WRITE_OUT: 'json' }, ['-w', 'simple', 'get', 'k'])).toThrow('ETCDCTL_WRITE_OUT');
  });

  it('logs in with ETCDCTL_USER and ETCDCTL_PASSWORD', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ authenticate: () => ({ header, token: 'tok.env' }), userList: () => ({ header, users: ['root'] }) }, calls);
    const r = await run(['user', 'list'], client, '', { ETCDCTL_USER: 'root', ETCDCTL_PASSWORD: 'pw' });
    expect(r).toEqual({ out: 'root\n', err: '', code: 0 });
    expect(calls.map((c) => [c.key, c.request, c.token])).toEqual([
      ['authenticate', { name: 'root', password: 'pw' }, undefined],
      ['userList', {}, 'tok.env'],
    ]);
  });
});

describe('user and role commands against a fake server', () => {
  it('asks twice for a password interactively, and refuses empty or different ones', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ userAdd: () => ({ header }) }, calls);
    expect(await run(['user', 'add', 'zed'], client, 'pw\npw\n')).toEqual({
      out: 'Password of zed: \nType password of zed again for confirmation: \nUser zed created\n',
      err: '',
      code: 0,
    });
    expect(calls[0]?.request).toEqual({ name: 'zed', password: 'pw', options: { noPassword: false } });
    expect(await run(['user', 'add', 'zed'], client, 'pw\n')).toMatchObject({ err: 'Error: given passwords are different\n', code: 128 });
    expect(await run(['user', 'add', 'zed'], client, '\n')).toMatchObject({ err: 'Error: empty password\n', code: 128 });
    expect(calls).toHaveLength(1);
  });

  it('reads the first word of stdin with --interactive=false, and --no-password sends none', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ userAdd: () => ({ header }), userChangePassword: () => ({ header }) }, calls);
    await run(['user', 'add', 'a', '--interactive=false'], client, '  first second\n');
    await run(['user', 'passwd', 'a', '--interactive=false'], client, 'next\n');
    await run(['user', 'add', 'b', '--no-password', '--new-user-password=ignored'], client);
    expect(calls.map((c) => c.request)).toEqual([
      { name: 'a', password: 'first', options: { noPassword: false } },
      { name: 'a', password: 'next' },
      { name: 'b', password: '', options: { noPassword: true } },
    ]);
  });

  it('auth enable adds the root role and grants it when root lacks it, then enables', async () => {
    const calls: Call[] = [];
    const client = fakeClient(
      {
        authEnable: [
          () => {
            throw statusError('etcdserver: root user does not have root role');
          },
          () => ({ header }),
        ],
        roleAdd: () => ({ header }),
        userGrantRole: () => ({ header }),
      },
      calls,
    );
    expect(await run(['auth', 'enable'], client)).toEqual({ out: 'Authentication Enabled\n', err: '', code: 0 });
    expect(calls.map((c) => c.key)).toEqual(['authEnable', 'roleAdd', 'userGrantRole', 'authEnable']);
    expect(calls[2]?.request).toEqual({ user: 'root', role: 'root' });
  });

  it('auth status prints as etcdctl 3.5 in simple, json and fields', async () => {
    const client = fakeClient({ authStatus: () => ({ header, enabled: true, authRevision: 7n }) }, []);
    expect((await run(['auth', 'status'], client)).out).toBe('Authentication Status: true\nAuthRevision: 7\n');
    expect((await run(['auth', 'status', '-w', 'json'], client)).out).toBe(
      '{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":4},"enabled":true,"authRevision":7}\n',
    );
    expect((await run(['auth', 'status', '-w', 'fields'], client)).out).toBe(
      '"ClusterID" : 1\n"MemberID" : 2\n"Revision" : 3\n"RaftTerm" : 4\n"Enabled" : true\n"AuthRevision" : 7\n',
    );
    expect(await run(['auth', 'status', 'x'], client)).toMatchObject({ err: 'Error: auth status command does not accept any arguments\n', code: 128 });
  });

  it('refuses unsupported output formats after the call, as etcdctl printers do', async () => {
    const calls: Call[] = [];
    const client = fakeClient({ userList: () => ({ header, users: ['a'] }) }, calls);
    expect(await run(['user', 'list', '-w', 'table'], client)).toEqual({ out: '', err: 'Error: table not supported as output format\n', code: 4 });
    expect(calls).toHaveLength(1);
  });
});

describe('permission ranges and role printing', () => {
  const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
  const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

  it('computes the prefix end as clientv3.GetPrefixRangeEnd', () => {
    expect(s(prefixRangeEnd(b('abc')))).toBe('abd');
    expect(s(prefixRangeEnd(b('a\xff')))).toBe('b');
    expect(s(prefixRangeEnd(b('\xff\xff')))).toBe('\x00');
    expect(s(prefixRangeEnd(b('')))).toBe('\x00');
  });

  it('maps key, range end, --prefix and --from-key as etcdctl 3.4 permRange', () => {
    const pr = (args: string[], prefix = false, fromKey = false): [string, string] => {
      const [k, e] = permRange(args, prefix, fromKey);
      return [s(k), s(e)];
    };
    expect(pr(['k'])).toEqual(['k', '']);
    expect(pr(['a', 'c'])).toEqual(['a', 'c']);
    expect(pr(['/p/'], true)).toEqual(['/p/', '/p0']);
    expect(pr(['z'], false, true)).toEqual(['z', '\x00']);
    expect(pr([''])).toEqual(['\x00', '']);
    expect(pr([''], true)).toEqual(['\x00', '\x00']);
    expect(() => pr(['a'], true, true)).toThrow('--from-key and --prefix flags are mutually exclusive');
    expect(() => pr(['a', 'b'], true)).toThrow('unexpected endkey argument with --prefix flag');
    expect(() => pr(['a', 'b'], false, true)).toThrow('unexpected endkey argument with --from-key flag');
  });

  it('prints a role as etcdctl: reads, then writes; prefixes and open ends marked', () => {
    const perm = (permType: number, key: string, rangeEnd: string): { permType: number; key: Uint8Array; rangeEnd: Uint8Array } => ({
      permType,
      key: b(key),
      rangeEnd: b(rangeEnd),
    });
    const text = roleGetText('r', [
      perm(Permission_Type.READWRITE, '/a/', '/a0'),
      perm(Permission_Type.READ, 'k', ''),
      perm(Permission_Type.WRITE, 'z', '\x00'),
      perm(Permission_Type.READ, 'a', 'c'),
    ]);
    expect(text).toBe('Role r\nKV Read:\n\t[/a/, /a0) (prefix /a/)\n\tk\n\t[a, c)\nKV Write:\n\t[/a/, /a0) (prefix /a/)\n\t[z, <open ended>\n');
  });

  it("quotes as Go's %q", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote('\x00\x07\n\x7f')).toBe('"\\x00\\a\\n\\x7f"');
    expect(goQuote('é世')).toBe('"é世"');
  });
});

describe('auth status against tsetcd (etcd 3.5 API)', () => {
  it('reports enabled and an auth revision that grows with each auth change', async () => {
    const member = await startTsetcd();
    try {
      const status = async (user?: string): Promise<[string, bigint]> => {
        const r = await ours(member.endpoint, [...(user === undefined ? [] : [`--user=${user}`]), 'auth', 'status']);
        expect(r.err).toBe('');
        const m = /^Authentication Status: (true|false)\nAuthRevision: (\d+)\n$/.exec(r.out);
        expect(m, r.out).not.toBeNull();
        return [m?.[1] ?? '', BigInt(m?.[2] ?? '0')];
      };
      const [off, rev0] = await status();
      expect(off).toBe('false');
      expect((await ours(member.endpoint, ['user', 'add', 'root:pw'])).code).toBe(0);
      expect((await ours(member.endpoint, ['auth', 'enable'])).out).toBe('Authentication Enabled\n');
      const [on, rev1] = await status('root:pw');
      expect(on).toBe('true');
      expect(rev1).toBeGreaterThan(rev0);
      const json = await ours(member.endpoint, ['--user=root:pw', '-w', 'json', 'auth', 'status']);
      expect(json.out).toMatch(/^\{"header":\{"cluster_id":\d+,"member_id":\d+,"revision":1,"raft_term":\d+\},"enabled":true,"authRevision":\d+\}\n$/);
    } finally {
      await member.close();
    }
  }, 30_000);
});

describe('a token that expires during a run (tsetcd, simple tokens, --auth-token-ttl=1)', () => {
  it('is refused, and the next call logs in again and succeeds (lock: unlock and revoke after an idle hold)', async () => {
    const member = await startTsetcd(['--auth-token-ttl', '1']);
    try {
      for (const argv of [['user', 'add', 'root:pw'], ['user', 'add', 'u:p'], ['role', 'add', 'locker'],
        ['role', 'grant-permission', 'locker', 'readwrite', 'l1', '--prefix'], ['user', 'grant-role', 'u', 'locker'], ['auth', 'enable']]) {
        expect((await ours(member.endpoint, argv)).code, argv.join(' ')).toBe(0);
      }
      // Every call of the run, with the error it got, through a spy under the login layer.
      const seen: string[] = [];
      const spy = (endpoint: string): EtcdGrpcClient => {
        const inner = createGrpcClient(endpoint);
        return {
          ...inner,
          unary: (async (key: never, request: never, options?: ClientCallOptions) => {
            try {
              const resp = await inner.unary(key, request, options);
              seen.push(`${String(key)} ok`);
              return resp;
            } catch (error) {
              seen.push(`${String(key)} ${isGrpcStatusError(error) ? error.message : String(error)}`);
              throw error;
            }
          }) as EtcdGrpcClient['unary'],
          bidi: inner.bidi.bind(inner),
          serverStream: inner.serverStream.bind(inner),
          close: () => inner.close(),
        };
      };
      let out = '';
      const interrupt = new AbortController();
      const io: CtlIo = {
        out: (t) => void (out += t),
        err: (t) => void (out += t),
        readStdin: () => Promise.resolve(''),
        interrupt: interrupt.signal,
        nowMs: () => 0,
        writeFile: () => Promise.reject(new Error('no files')),
      };
      const running = runCtl([`--endpoints=${member.endpoint}`, '--user=u:p', 'lock', 'l1'], io, { connect: spy });
      // Once the lock is held, hold it well past the token's 1 s without a unary call, then Ctrl-C.
      for (let i = 0; i < 600 && !out.includes('\n'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      interrupt.abort();
      expect(await running).toBe(0);
      expect(out).toMatch(/^l1\/[0-9a-f]+\n\n$/);
      const unlocks = seen.filter((s) => s.startsWith('unlock'));
      expect(unlocks).toEqual(['unlock etcdserver: invalid auth token', 'unlock ok']);
      expect(seen.filter((s) => s === 'authenticate ok')).toHaveLength(2);
      // The release after Ctrl-C reaches the server (it must not carry the aborted interrupt).
      expect(seen.at(-1)).toBe('leaseRevoke ok');
    } finally {
      await member.close();
    }
  }, 60_000);
});
