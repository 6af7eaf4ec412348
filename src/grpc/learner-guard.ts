/**
 * etcd's learner rule (etcdserver/api/v3rpc interceptors, 3.4): while this member is a learner
 * it serves only Maintenance.Status and serializable KV.Range; every other unary RPC and every
 * stream (Watch, LeaseKeepAlive, Snapshot, Observe) fails with "etcdserver: rpc not supported
 * for learner". The rule sits on the services, so the gRPC server and the gateway both obey it,
 * as etcd's gateway (a gRPC client of the same server) does.
 */
import { etcdError } from '../api/index.js';
import { RPCS } from './generated/services.js';
import type { RpcDescriptor, RpcKey } from './generated/services.js';
import type { EtcdServices, GrpcStatusError } from './services.js';

/** True when etcd lets a learner serve this request. */
export function isSupportedForLearner(key: RpcKey, request: unknown): boolean {
  if (key === 'status') return true;
  if (key === 'range') return (request as { serializable?: unknown } | undefined)?.serializable === true;
  return false;
}

function learnerRefusal(): GrpcStatusError {
  const e = etcdError('NotSupportedForLearner');
  return { grpcCode: e.code, message: e.message };
}

/** Wraps every method: while `isLearner()` says so, refused RPCs fail before reaching the service. */
export function refuseOnLearner(services: EtcdServices, isLearner: () => boolean): EtcdServices {
  const wrapped: Record<string, unknown> = {};
  for (const d of Object.values(RPCS) as RpcDescriptor[]) {
    const key: RpcKey = d.key;
    const method = (services[key] as (a: unknown, b: unknown, c?: unknown) => Promise<unknown>).bind(services);
    const isStream = d.requestStream || d.responseStream;
    const refused = (request: unknown): boolean => isLearner() && (isStream || !isSupportedForLearner(key, request));
    // Fixed arities rather than rest arguments: this runs on every call.
    wrapped[key] =
      d.responseStream && !d.requestStream
        ? (a: unknown, b: unknown, c: unknown): Promise<unknown> => (refused(a) ? Promise.reject(learnerRefusal()) : method(a, b, c))
        : (a: unknown, b: unknown): Promise<unknown> => (refused(a) ? Promise.reject(learnerRefusal()) : method(a, b));
  }
  return wrapped as unknown as EtcdServices;
}
