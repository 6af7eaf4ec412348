/**
 * Prometheus metrics for /metrics: go-grpc-prometheus's request counters (the names etcd's
 * dashboards use) counted by wrapping an EtcdServices, plus server gauges read from Status at
 * scrape time, in the text exposition format 0.0.4.
 */
import { RPCS } from './generated/services.js';
import type { RpcDescriptor, RpcKey } from './generated/services.js';
import { GrpcCode, isGrpcStatusError } from './services.js';
import type { EtcdServices } from './services.js';

const CODE_NAMES: readonly string[] = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
  'DataLoss', 'Unauthenticated',
];

function grpcType(d: RpcDescriptor): string {
  if (d.requestStream && d.responseStream) return 'bidi_stream';
  if (d.responseStream) return 'server_stream';
  if (d.requestStream) return 'client_stream';
  return 'unary';
}

const labelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`).join(',');
}

/** Counters keyed by their label set, printed in first-seen order. */
class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(labels: Readonly<Record<string, string>>, by = 1): void {
    this.addKey(labelKey(labels), by);
  }

  /** add() with the label set already rendered by labelKey (the per-RPC hot path caches it). */
  addKey(key: string, by = 1): void {
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Readonly<Record<string, string>>): number {
    const key = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`).join(',');
    return this.values.get(key) ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [labels, value] of this.values) out += `${this.name}{${labels}} ${value}\n`;
    return out;
  }
}

export class GatewayMetrics {
  readonly started = new Counter('grpc_server_started_total', 'Total number of RPCs started on the server.');
  readonly handled = new Counter('grpc_server_handled_total', 'Total number of RPCs completed on the server, regardless of success or failure.');
  readonly http = new Counter('etcd_http_gateway_requests_total', 'Total number of HTTP/JSON gateway requests by path and status code.');

  /** Rendered label sets per RPC (and code): every call counts twice, so they are built once. */
  private readonly startedKeys = new Map<RpcDescriptor, string>();
  private readonly handledKeys = new Map<RpcDescriptor, Map<number, string>>();

  rpcStarted(d: RpcDescriptor): void {
    let key = this.startedKeys.get(d);
    if (key === undefined) {
      key = labelKey({ grpc_method: d.method, grpc_service: d.service, grpc_type: grpcType(d) });
      this.startedKeys.set(d, key);
    }
    this.started.addKey(key);
  }

  rpcHandled(d: RpcDescriptor, error: unknown): void {
    let code: number = GrpcCode.OK;
    if (error !== undefined) code = isGrpcStatusError(error) ? error.grpcCode : GrpcCode.UNKNOWN;
    let byCode = this.handledKeys.get(d);
    if (byCode === undefined) {
      byCode = new Map();
      this.handledKeys.set(d, byCode);
    }
    let key = byCode.get(code);
    if (key === undefined) {
      key = labelKey({ grpc_code: CODE_NAMES[code] ?? String(code), grpc_method: d.method, grpc_service: d.service, grpc_type: grpcType(d) });
      byCode.set(code, key);
    }
    this.handled.addKey(key);
  }

  /** The counters plus gauges computed by the caller at scrape time. */
  render(gauges: readonly Gauge[]): string {
    let out = '';
    for (const g of gauges) out += `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} gauge\n${g.name} ${g.value}\n`;
    return out + this.started.render() + this.handled.render() + this.http.render();
  }
}

export interface Gauge {
  readonly name: string;
  readonly help: string;
  readonly value: number | bigint;
}

/**
 * Wraps every method of an EtcdServices so each call counts as started and handled with its
 * final code, for the gRPC server and the gateway alike (both call through the wrapper).
 */
export function instrumentServices(services: EtcdServices, metrics: GatewayMetrics): EtcdServices {
  const wrapped: Record<string, unknown> = {};
  for (const d of Object.values(RPCS) as RpcDescriptor[]) {
    const key: RpcKey = d.key;
    const method = (services[key] as (a: unknown, b: unknown, c?: unknown) => Promise<unknown>).bind(services);
    // Built once per RPC, not per call: a then() pair instead of an async wrapper per request.
    const handled = (result: unknown): unknown => {
      metrics.rpcHandled(d, undefined);
      return result;
    };
    const failed = (error: unknown): never => {
      metrics.rpcHandled(d, error);
      throw error;
    };
    // Server streams take (request, sink, ctx); the rest two arguments. Wrappers further in
    // find the CallContext as the last argument, so the arity must not change.
    const streams = isServerStream(d);
    wrapped[key] = (a: unknown, b: unknown, c?: unknown): Promise<unknown> => {
      metrics.rpcStarted(d);
      let pending: Promise<unknown>;
      try {
        pending = streams ? method(a, b, c) : method(a, b);
      } catch (error) {
        return Promise.reject(error).catch(failed);
      }
      return pending.then(handled, failed);
    };
  }
  return wrapped as unknown as EtcdServices;
}

function isServerStream(d: RpcDescriptor): boolean {
  return d.responseStream && !d.requestStream;
}
