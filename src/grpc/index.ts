/**
 * src/grpc: etcd's v3 API on the wire. The only importer of @grpc/grpc-js.
 * - createGrpcServer(services): the client-facing gRPC server over an EtcdServices.
 * - createGrpcClient(target): a typed client over the same codecs.
 * - EtcdServices and friends: the transport-free contract (moves to src/api later).
 * - Generated message types and static codecs: encodeX(init) -> Buffer, decodeX(bytes) -> X.
 *   int64/uint64 are bigint, bytes are Uint8Array, enums are numbers (see ./wire.ts).
 */
export { createGrpcServer, parseListenUrl } from './server.js';
export { createGrpcClient } from './client.js';
export type {
  ClientBidiCall,
  ClientCallOptions,
  ClientOptions,
  ClientServerStreamCall,
  EtcdGrpcClient,
} from './client.js';
export { bindServices } from './adapter.js';
export type { BoundApis } from './adapter.js';
export type { GrpcServer, GrpcServerOptions } from './server.js';
export { GrpcCode, isGrpcStatusError, isUnaryRpcKey, unimplementedServices } from './services.js';
export type {
  BidiStream,
  BidiRpcKey,
  CallContext,
  EtcdServices,
  GrpcStatusError,
  ResponseSink,
  ServerStreamRpcKey,
  UnaryHandler,
  UnaryRpcKey,
} from './services.js';
export { ProtoDecodeError, MAX_DEPTH, COPY_BYTES_MAX } from './wire.js';
export { RPCS } from './generated/services.js';
export type { RpcDescriptor, RpcKey, RpcTypes } from './generated/services.js';
export { MESSAGES, ENUMS } from './generated/schema.js';
export type { FieldKind, FieldSchema, MessageSchema } from './generated/schema.js';
export * from './generated/mvccpb.js';
export * from './generated/authpb.js';
export * from './generated/etcdserverpb.js';
export * from './generated/v3lockpb.js';
export * from './generated/v3electionpb.js';
export { PeerRequester, PeerTransport, peerRequest } from './peer-transport.js';
export type { PeerTransportOptions, PeerStats, PeerTls, JsonRoute } from './peer-transport.js';
export { createLeaseForwarder, serveLeaseRoutes, LEASE_RENEW_PATH, LEASE_RENEW_BATCH_PATH, LEASE_TTL_PATH } from './peer-lease.js';
export { PeerCodecError, encodeBatch, encodeFrame, decodeBatch, checkMessage, FrameParser, frame } from './peer-codec.js';
export { createGateway, decodeJsonRequest, encodeJsonResponse } from './gateway.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { createClientFront } from './gateway-front.js';
export type { ClientFront, ClientFrontOptions } from './gateway-front.js';
export { clientTlsOptions, commonNameOf, isTlsUrl, loadClientTls, loadServerTls, serverTlsOptions, verifiedClientCommonName, withoutTlsScheme } from './tls.js';
export type { ClientTls, ClientTlsFiles, ServerTls, ServerTlsFiles } from './tls.js';
export { GatewayMetrics, instrumentServices } from './gateway-metrics.js';
export { refuseOnLearner, isSupportedForLearner } from './learner-guard.js';
export type { Gauge } from './gateway-metrics.js';
export { JsonMappingError, jsonToMessageInit, messageToJson } from './gateway-json.js';
export type { JsonDialect } from './gateway-json.js';
