/**
 * user | role | auth commands as etcdctl 3.4 has them (plus 3.5's `auth status`; 3.4.23's
 * `user add --no-password`). Output follows etcdctl's printers: simple lines, Go json of the
 * response (-w json), the fields printer where etcdctl has one; other formats (table, and
 * protobuf, which tsetcdctl does not write) end with "<format> not supported as output format"
 * after the call, as etcdctl's printers do. The --user/--password login is in login.ts.
 */
import type { AuthRoleGetResponse, Permission, ResponseHeader } from '../../grpc/index.js';
import { Permission_Type } from '../../grpc/index.js';
import { flagBool, flagString } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode, rpc } from './io.js';
import type { CtlContext, CtlIo } from './io.js';
import { checkWriteOut, fieldsHeader, goJson, goQuote, text } from './print.js';

export const USER_FLAGS: FlagSpecs = {
  interactive: { kind: 'bool', default: 'true' },
  'new-user-password': { kind: 'string', default: '' },
  'no-password': { kind: 'bool', default: 'false' },
  detail: { kind: 'bool', default: 'false' },
};

export const AUTH_FLAGS: FlagSpecs = {};

export const ROLE_FLAGS: FlagSpecs = {
  prefix: { kind: 'bool', default: 'false' },
  'from-key': { kind: 'bool', default: 'false' },
};

const encoder = new TextEncoder();
const bytes = (s: string): Uint8Array => encoder.encode(s);

/** stdin read once and handed out in pieces, like a Go program reading os.Stdin several times. */
export class StdinLines {
  private static readonly byIo = new WeakMap<CtlIo, StdinLines>();

  /** One reader per run: the login prompt and a command's password prompt share stdin. */
  static of(io: CtlIo): StdinLines {
    let s = StdinLines.byIo.get(io);
    if (s === undefined) StdinLines.byIo.set(io, (s = new StdinLines(io)));
    return s;
  }

  private lines: string[] | undefined;
  constructor(private readonly io: CtlIo) {}

  async nextLine(): Promise<string> {
    this.lines ??= (await this.io.readStdin()).split('\n');
    return (this.lines.shift() ?? '').replace(/\r$/, '');
  }

  /** fmt.Scanf("%s"): the first word of the next line. */
  async nextWord(): Promise<string> {
    return (await this.nextLine()).trim().split(/[ \t]+/)[0] ?? '';
  }
}

/** speakeasy.Ask without a terminal: the prompt, then the line read, then a newline. */
async function ask(io: CtlIo, stdin: StdinLines, prompt: string): Promise<string> {
  io.out(prompt);
  const answer = await stdin.nextLine();
  io.out('\n');
  return answer;
}

async function readPasswordInteractive(io: CtlIo, stdin: StdinLines, name: string): Promise<string> {
  const first = await ask(io, stdin, `Password of ${name}: `);
  if (first.length === 0) throw new CtlError(ExitCode.BadArgs, 'empty password');
  const second = await ask(io, stdin, `Type password of ${name} again for confirmation: `);
  if (first !== second) throw new CtlError(ExitCode.BadArgs, 'given passwords are different');
  return first;
}

type Printed = 'simple' | 'json' | 'fields';

/** etcdctl picks the printer up front but a missing method fails only when called (after the RPC). */
function printerFor(ctx: CtlContext, supported: readonly Printed[]): Printed {
  const w = ctx.global.writeOut;
  if ((supported as readonly string[]).includes(w)) return w as Printed;
  throw new CtlError(ExitCode.BadFeature, `${w} not supported as output format`);
}

/** Responses that etcdctl prints as one line in simple mode and as the header alone in fields. */
function printAck(ctx: CtlContext, type: string, resp: { header: ResponseHeader | undefined }, line: string): void {
  const p = printerFor(ctx, ['simple', 'json', 'fields']);
  if (p === 'json') ctx.io.out(goJson(type, resp) + '\n');
  else if (p === 'fields') fieldsHeader(ctx.io, resp.header);
  else ctx.io.out(line + '\n');
}

function needArgs(args: ParsedArgs, count: number, message: string, atLeast = false): string[] {
  const ok = atLeast ? args.positionals.length >= count : args.positionals.length === count;
  if (!ok) throw new CtlError(ExitCode.BadArgs, message);
  return args.positionals;
}

async function userAdd(ctx: CtlContext, args: ParsedArgs, stdin: StdinLines): Promise<void> {
  const [arg] = needArgs(args, 1, 'user add command requires user name as its argument') as [string];
  let name = arg;
  let password = '';
  const noPassword = flagBool(args, 'no-password');
  const fromFlag = flagString(args, 'new-user-password');
  if (!noPassword && fromFlag !== '') password = fromFlag;
  else if (!noPassword) {
    const colon = arg.indexOf(':');
    if (colon < 0) {
      password = flagBool(args, 'interactive') ? await readPasswordInteractive(ctx.io, stdin, arg) : await stdin.nextWord();
    } else {
      name = arg.slice(0, colon);
      password = arg.slice(colon + 1);
      if (name.length === 0) throw new CtlError(ExitCode.BadArgs, 'empty user name is not allowed');
    }
  }
  const request = { name, password, options: { noPassword } };
  const resp = await rpc(() => ctx.client.unary('userAdd', request, ctx.callOptions()));
  printAck(ctx, 'etcdserverpb.AuthUserAddResponse', resp, `User ${name} created`);
}

async function userGet(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [name] = needArgs(args, 1, 'user get command requires user name as its argument') as [string];
  const resp = await rpc(() => ctx.client.unary('userGet', { name }, ctx.callOptions()));
  if (flagBool(args, 'detail')) {
    ctx.io.out(`User: ${name}\n`);
    for (const role of resp.roles) {
      ctx.io.out('\n');
      const roleResp = await rpc(() => ctx.client.unary('roleGet', { role }, ctx.callOptions()));
      printRoleGet(ctx, role, roleResp);
    }
    return;
  }
  const p = printerFor(ctx, ['simple', 'json']);
  if (p === 'json') return ctx.io.out(goJson('etcdserverpb.AuthUserGetResponse', resp) + '\n');
  ctx.io.out(`User: ${name}\nRoles:${resp.roles.map((r) => ' ' + r).join('')}\n`);
}

async function userList(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  needArgs(args, 0, 'user list command requires no arguments');
  const resp = await rpc(() => ctx.client.unary('userList', {}, ctx.callOptions()));
  const p = printerFor(ctx, ['simple', 'json']);
  if (p === 'json') return ctx.io.out(goJson('etcdserverpb.AuthUserListResponse', resp) + '\n');
  for (const u of resp.users) ctx.io.out(u + '\n');
}

async function userPasswd(ctx: CtlContext, args: ParsedArgs, stdin: StdinLines): Promise<void> {
  const [name] = needArgs(args, 1, 'user passwd command requires user name as its argument') as [string];
  const password = flagBool(args, 'interactive') ? await readPasswordInteractive(ctx.io, stdin, name) : await stdin.nextWord();
  const resp = await rpc(() => ctx.client.unary('userChangePassword', { name, password }, ctx.callOptions()));
  printAck(ctx, 'etcdserverpb.AuthUserChangePasswordResponse', resp, 'Password updated');
}

async function userCommandRun(ctx: CtlContext, sub: string | undefined, a: ParsedArgs, stdin: StdinLines): Promise<void> {
  const opts = ctx.callOptions();
  switch (sub) {
    case 'add':
      return userAdd(ctx, a, stdin);
    case 'delete': {
      const [name] = needArgs(a, 1, 'user delete command requires user name as its argument') as [string];
      const resp = await rpc(() => ctx.client.unary('userDelete', { name }, opts));
      return printAck(ctx, 'etcdserverpb.AuthUserDeleteResponse', resp, `User ${name} deleted`);
    }
    case 'get':
      return userGet(ctx, a);
    case 'list':
      return userList(ctx, a);
    case 'passwd':
      return userPasswd(ctx, a, stdin);
    case 'grant-role': {
      const [user, role] = needArgs(a, 2, 'user grant command requires user name and role name as its argument') as [string, string];
      const resp = await rpc(() => ctx.client.unary('userGrantRole', { user, role }, opts));
      return printAck(ctx, 'etcdserverpb.AuthUserGrantRoleResponse', resp, `Role ${role} is granted to user ${user}`);
    }
    case 'revoke-role': {
      const [name, role] = needArgs(a, 2, 'user revoke-role requires user name and role name as its argument') as [string, string];
      const resp = await rpc(() => ctx.client.unary('userRevokeRole', { name, role }, opts));
      return printAck(ctx, 'etcdserverpb.AuthUserRevokeRoleResponse', resp, `Role ${role} is revoked from user ${name}`);
    }
    default:
      throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl user"`);
  }
}

export async function userCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub, ...rest] = args.positionals;
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'fields', 'table', 'protobuf']);
  await userCommandRun(ctx, sub, { ...args, positionals: rest }, StdinLines.of(ctx.io));
}

/** clientv3.GetPrefixRangeEnd: the key with its last non-0xff byte incremented; "\0" when none. */
export function prefixRangeEnd(key: Uint8Array): Uint8Array {
  for (let i = key.length - 1; i >= 0; i--) {
    const b = key[i] as number;
    if (b < 0xff) {
      const end = key.slice(0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The key and range end a grant or revoke names: an empty key means the whole key space
 * ("\0", open ended with --prefix or --from-key), as etcdctl 3.4's permRange.
 */
export function permRange(args: readonly string[], prefix: boolean, fromKey: boolean): [Uint8Array, Uint8Array] {
  const key = args[0] ?? '';
  if (prefix && fromKey) throw new CtlError(ExitCode.BadArgs, '--from-key and --prefix flags are mutually exclusive');
  if (key.length === 0) return [new Uint8Array([0]), prefix || fromKey ? new Uint8Array([0]) : new Uint8Array()];
  if (args.length === 1) {
    if (prefix) return [bytes(key), prefixRangeEnd(bytes(key))];
    return [bytes(key), fromKey ? new Uint8Array([0]) : new Uint8Array()];
  }
  if (prefix) throw new CtlError(ExitCode.BadArgs, 'unexpected endkey argument with --prefix flag');
  if (fromKey) throw new CtlError(ExitCode.BadArgs, 'unexpected endkey argument with --from-key flag');
  return [bytes(key), bytes(args[1] as string)];
}

const PERM_TYPES: Readonly<Record<string, number>> = {
  READ: Permission_Type.READ,
  WRITE: Permission_Type.WRITE,
  READWRITE: Permission_Type.READWRITE,
};
const PERM_NAMES = ['READ', 'WRITE', 'READWRITE'];

function permLine(perm: Permission): string {
  const key = text(perm.key);
  if (perm.rangeEnd.length === 0) return `\t${key}\n`;
  const isOpen = perm.rangeEnd.length === 1 && perm.rangeEnd[0] === 0;
  let line = isOpen ? `\t[${key}, <open ended>` : `\t[${key}, ${text(perm.rangeEnd)})`;
  if (sameBytes(prefixRangeEnd(perm.key), perm.rangeEnd)) line += ` (prefix ${key})`;
  return line + '\n';
}

export function roleGetText(role: string, perms: readonly Permission[]): string {
  const readable = perms.filter((p) => p.permType === Permission_Type.READ || p.permType === Permission_Type.READWRITE);
  const writable = perms.filter((p) => p.permType === Permission_Type.WRITE || p.permType === Permission_Type.READWRITE);
  return `Role ${role}\nKV Read:\n${readable.map(permLine).join('')}KV Write:\n${writable.map(permLine).join('')}`;
}

function printRoleGet(ctx: CtlContext, role: string, resp: AuthRoleGetResponse): void {
  const p = printerFor(ctx, ['simple', 'json', 'fields']);
  if (p === 'json') return ctx.io.out(goJson('etcdserverpb.AuthRoleGetResponse', resp) + '\n');
  if (p === 'simple') return ctx.io.out(roleGetText(role, resp.perm));
  fieldsHeader(ctx.io, resp.header);
  for (const perm of resp.perm) {
    ctx.io.out(`"PermType" :  ${PERM_NAMES[perm.permType] ?? String(perm.permType)}\n`);
    ctx.io.out(`"Key" : ${goQuote(text(perm.key))}\n"RangeEnd" : ${goQuote(text(perm.rangeEnd))}\n`);
  }
}

async function roleGrant(ctx: CtlContext, a: ParsedArgs): Promise<void> {
  const args = needArgs(a, 3, 'role grant command requires role name, permission type, and key [endkey] as its argument', true);
  const [name, typeText] = args as [string, string];
  const permType = PERM_TYPES[typeText.toUpperCase()];
  if (permType === undefined) throw new CtlError(ExitCode.BadArgs, `invalid permission type: ${typeText}`);
  const [key, rangeEnd] = permRange(args.slice(2), flagBool(a, 'prefix'), flagBool(a, 'from-key'));
  const resp = await rpc(() => ctx.client.unary('roleGrantPermission', { name, perm: { permType, key, rangeEnd } }, ctx.callOptions()));
  printAck(ctx, 'etcdserverpb.AuthRoleGrantPermissionResponse', resp, `Role ${name} updated`);
}

async function roleRevoke(ctx: CtlContext, a: ParsedArgs): Promise<void> {
  const args = needArgs(a, 2, 'role revoke-permission command requires role name and key [endkey] as its argument', true);
  const [role, keyText] = args as [string, string];
  const [key, rangeEnd] = permRange(args.slice(1), flagBool(a, 'prefix'), flagBool(a, 'from-key'));
  const resp = await rpc(() => ctx.client.unary('roleRevokePermission', { role, key, rangeEnd }, ctx.callOptions()));
  let line = `Permission of key ${keyText} is revoked from role ${role}`;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) line = `Permission of range [${keyText}, <open ended> is revoked from role ${role}`;
  else if (rangeEnd.length > 0) line = `Permission of range [${keyText}, ${text(rangeEnd)}) is revoked from role ${role}`;
  printAck(ctx, 'etcdserverpb.AuthRoleRevokePermissionResponse', resp, line);
}

async function roleCommandRun(ctx: CtlContext, sub: string | undefined, a: ParsedArgs): Promise<void> {
  const opts = ctx.callOptions();
  switch (sub) {
    case 'add': {
      const [name] = needArgs(a, 1, 'role add command requires role name as its argument') as [string];
      const resp = await rpc(() => ctx.client.unary('roleAdd', { name }, opts));
      return printAck(ctx, 'etcdserverpb.AuthRoleAddResponse', resp, `Role ${name} created`);
    }
    case 'delete': {
      const [role] = needArgs(a, 1, 'role delete command requires role name as its argument') as [string];
      const resp = await rpc(() => ctx.client.unary('roleDelete', { role }, opts));
      return printAck(ctx, 'etcdserverpb.AuthRoleDeleteResponse', resp, `Role ${role} deleted`);
    }
    case 'get': {
      const [role] = needArgs(a, 1, 'role get command requires role name as its argument') as [string];
      const resp = await rpc(() => ctx.client.unary('roleGet', { role }, opts));
      return printRoleGet(ctx, role, resp);
    }
    case 'list': {
      needArgs(a, 0, 'role list command requires no arguments');
      const resp = await rpc(() => ctx.client.unary('roleList', {}, opts));
      const p = printerFor(ctx, ['simple', 'json', 'fields']);
      if (p === 'json') return ctx.io.out(goJson('etcdserverpb.AuthRoleListResponse', resp) + '\n');
      if (p === 'fields') {
        fieldsHeader(ctx.io, resp.header);
        return ctx.io.out(`"Roles" :${resp.roles.map((r) => ' ' + goQuote(r)).join('')}\n`);
      }
      for (const r of resp.roles) ctx.io.out(r + '\n');
      return;
    }
    case 'grant-permission':
      return roleGrant(ctx, a);
    case 'revoke-permission':
      return roleRevoke(ctx, a);
    default:
      throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl role"`);
  }
}

export async function roleCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub, ...rest] = args.positionals;
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'fields', 'table', 'protobuf']);
  await roleCommandRun(ctx, sub, { ...args, positionals: rest });
}

const ROOT_ROLE_MISSING = 'etcdserver: root user does not have root role';

/** etcdctl's enable: when root lacks the root role it adds the role, grants it, and tries again. */
async function authEnable(ctx: CtlContext): Promise<void> {
  for (;;) {
    try {
      await ctx.client.unary('authEnable', {}, ctx.callOptions());
      break;
    } catch (error) {
      const message = (error as { message?: unknown }).message;
      if (message !== ROOT_ROLE_MISSING) return rpc(() => Promise.reject(error));
      await rpc(() => ctx.client.unary('roleAdd', { name: 'root' }, ctx.callOptions()));
      await rpc(() => ctx.client.unary('userGrantRole', { user: 'root', role: 'root' }, ctx.callOptions()));
    }
  }
  ctx.io.out('Authentication Enabled\n');
}

async function authStatus(ctx: CtlContext): Promise<void> {
  const resp = await rpc(() => ctx.client.unary('authStatus', {}, ctx.callOptions()));
  const p = printerFor(ctx, ['simple', 'json', 'fields']);
  if (p === 'json') return ctx.io.out(goJson('etcdserverpb.AuthStatusResponse', resp) + '\n');
  if (p === 'fields') {
    fieldsHeader(ctx.io, resp.header);
    return ctx.io.out(`"Enabled" : ${resp.enabled}\n"AuthRevision" : ${resp.authRevision}\n`);
  }
  ctx.io.out(`Authentication Status: ${resp.enabled}\nAuthRevision: ${resp.authRevision}\n`);
}

export async function authCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub, ...rest] = args.positionals;
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'fields', 'table', 'protobuf']);
  if (sub === 'enable' || sub === 'disable' || sub === 'status') {
    if (rest.length !== 0) throw new CtlError(ExitCode.BadArgs, `auth ${sub} command does not accept any arguments`);
  }
  switch (sub) {
    case 'enable':
      return authEnable(ctx);
    case 'disable':
      await rpc(() => ctx.client.unary('authDisable', {}, ctx.callOptions()));
      return ctx.io.out('Authentication Disabled\n');
    case 'status':
      return authStatus(ctx);
    default:
      throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl auth"`);
  }
}
