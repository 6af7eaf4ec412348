/**
 * The global --user/--password login, as clientv3 does it: Authenticate once per connection,
 * send the token as the `token` metadata on every call, and when the server says the token is
 * no longer good (invalid token, stale auth revision, or no user on a call that carried one),
 * authenticate again and retry the call once. The login happens at the first call rather than
 * at connect, so argument errors still come first, as in etcdctl (which logs in when it builds
 * the client, after checking arguments).
 */
import type {
  BidiRpcKey,
  ClientBidiCall,
  ClientCallOptions,
  ClientServerStreamCall,
  EtcdGrpcClient,
  RpcTypes,
  ServerStreamRpcKey,
  UnaryRpcKey,
} from '../../grpc/index.js';
import { isGrpcStatusError } from '../../grpc/index.js';
import { StdinLines } from './auth.js';
import { CtlError, ExitCode, errorText } from './io.js';
import type { CtlIo } from './io.js';

export interface Credentials {
  readonly name: string;
  readonly password: string;
}

const AUTH_NOT_ENABLED = 'etcdserver: authentication is not enabled';
const REFRESH_ALWAYS = new Set(['etcdserver: invalid auth token', 'etcdserver: revision of auth store is old']);
const USER_EMPTY = 'etcdserver: user name is empty';

/**
 * etcdctl's reading of --user and --password: "name:password" unless --password is given (then
 * --user is the whole name); a name alone prompts for the password on stdin.
 */
export async function credentialsFrom(userFlag: string, passwordFlag: string, io: CtlIo): Promise<Credentials | undefined> {
  if (userFlag === '') return undefined;
  if (passwordFlag !== '') return { name: userFlag, password: passwordFlag };
  const colon = userFlag.indexOf(':');
  if (colon >= 0) return { name: userFlag.slice(0, colon), password: userFlag.slice(colon + 1) };
  io.out('Password: ');
  const password = await StdinLines.of(io).nextLine();
  io.out('\n');
  return { name: userFlag, password };
}

function messageOf(error: unknown): string {
  return isGrpcStatusError(error) ? error.message : '';
}

/** A client that logs in lazily and carries the token; without usable credentials it adds nothing. */
export function loggedInClient(inner: EtcdGrpcClient, credentials: () => Promise<Credentials | undefined>, dialTimeoutMs: number): EtcdGrpcClient {
  let token: Promise<string | undefined> | undefined;
  let usable = false;
  const login = async (): Promise<string | undefined> => {
    const creds = await credentials();
    // clientv3 authenticates only with both a name and a password.
    if (creds === undefined || creds.name === '' || creds.password === '') return undefined;
    usable = true;
    try {
      const resp = await inner.unary('authenticate', { name: creds.name, password: creds.password }, { deadlineMs: dialTimeoutMs });
      return resp.token;
    } catch (error) {
      if (messageOf(error) === AUTH_NOT_ENABLED) return undefined;
      throw new CtlError(ExitCode.BadConnection, errorText(error));
    }
  };
  const currentToken = (): Promise<string | undefined> => (token ??= login());
  const withToken = (options: ClientCallOptions, t: string | undefined): ClientCallOptions => (t === undefined ? options : { ...options, token: t });
  // clientv3's shouldRefreshToken: "user name is empty" counts only when it has credentials
  // (auth may have been enabled after a login that found it off).
  const shouldRefresh = (error: unknown): boolean => {
    const m = messageOf(error);
    return REFRESH_ALWAYS.has(m) || (m === USER_EMPTY && usable);
  };

  async function unary<K extends UnaryRpcKey>(key: K, request: RpcTypes[K]['requestInit'], options: ClientCallOptions = {}): Promise<RpcTypes[K]['response']> {
    const sent = await currentToken();
    try {
      return await inner.unary(key, request, withToken(options, sent));
    } catch (error) {
      if (!shouldRefresh(error)) throw error;
      token = login();
      return inner.unary(key, request, withToken(options, await token));
    }
  }

  function bidi<K extends BidiRpcKey>(key: K, options: ClientCallOptions = {}): ClientBidiCall<RpcTypes[K]['requestInit'], RpcTypes[K]['response']> {
    const call = currentToken().then((t) => inner.bidi(key, withToken(options, t)));
    const later = (f: (c: ClientBidiCall<RpcTypes[K]['requestInit'], RpcTypes[K]['response']>) => void): void => void call.then(f, () => undefined);
    return {
      send: (request) => later((c) => c.send(request)),
      end: () => later((c) => c.end()),
      cancel: () => later((c) => c.cancel()),
      async *[Symbol.asyncIterator]() {
        yield* await call;
      },
    };
  }

  function serverStream<K extends ServerStreamRpcKey>(
    key: K,
    request: RpcTypes[K]['requestInit'],
    options: ClientCallOptions = {},
  ): ClientServerStreamCall<RpcTypes[K]['response']> {
    const call = currentToken().then((t) => inner.serverStream(key, request, withToken(options, t)));
    return {
      cancel: () => void call.then((c) => c.cancel(), () => undefined),
      async *[Symbol.asyncIterator]() {
        yield* await call;
      },
    };
  }

  return { unary, bidi, serverStream, close: () => inner.close() };
}
