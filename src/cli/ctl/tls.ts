/**
 * etcdctl 3.4's transport security, flag for flag:
 * - --cacert, --cert or --key make a TLS configuration (cert and key only together);
 *   --insecure-transport=false makes an empty one (verify against the system roots);
 * - --insecure-skip-tls-verify only loosens a configuration that exists: with the default
 *   --insecure-transport=true and no files it changes nothing (etcdctl behaves so too);
 * - per endpoint: http:// and unix: dial in clear text whatever the flags; https:// and unixs:
 *   dial TLS (an empty configuration when there is none); an endpoint without a scheme dials
 *   TLS exactly when there is a configuration.
 */
import { readFileSync } from 'node:fs';
import type { ClientOptions, ClientTls } from '../../grpc/index.js';
import { flagBool, flagString } from './flags.js';
import type { ParsedArgs } from './flags.js';
import { CtlError, ExitCode } from './io.js';

/** Go's error text for a file that cannot be read ("open x: no such file or directory"). */
function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String((error as Error).message);
    throw new CtlError(ExitCode.Error, `open ${path}: ${why}`);
  }
}

/** The TLS configuration the flags describe, or undefined for none. */
export function tlsConfigFromFlags(args: ParsedArgs): ClientTls | undefined {
  const cacert = flagString(args, 'cacert');
  const cert = flagString(args, 'cert');
  const key = flagString(args, 'key');
  let config: ClientTls | undefined;
  if (cacert !== '' || cert !== '' || key !== '') {
    if ((cert === '') !== (key === '')) {
      throw new CtlError(ExitCode.Error, `KeyFile and CertFile must both be present[key: ${key}, cert: ${cert}]`);
    }
    config = {
      ...(cacert === '' ? {} : { ca: readPem(cacert) }),
      ...(cert === '' ? {} : { cert: readPem(cert), key: readPem(key) }),
    };
  } else if (!flagBool(args, 'insecure-transport')) {
    config = {};
  }
  if (config !== undefined && flagBool(args, 'insecure-skip-tls-verify')) config = { ...config, skipVerify: true };
  return config;
}

/** The client options for one endpoint under a configuration from tlsConfigFromFlags. */
export function clientOptionsFor(endpoint: string, config: ClientTls | undefined): ClientOptions {
  if (endpoint.startsWith('http://') || endpoint.startsWith('unix:')) return {};
  if (endpoint.startsWith('https://') || endpoint.startsWith('unixs:')) return { tls: config ?? {} };
  return config === undefined ? {} : { tls: config };
}
