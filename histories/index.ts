export { NEMESIS, HistoryError, validateOp, valueKey, check } from './op.js';
export type { Op, OpType, Process, Value } from './op.js';
export { HistoryRecorder, WellFormedness, assertWellFormed } from './recorder.js';
export { encodeOp, encodeJsonl, decodeJsonl } from './jsonl.js';
export { EdnReader, readEdn, readAllEdn, Keyword, EdnSymbol, EdnMap, EdnSet, EdnList, EdnTagged, EdnChar } from './edn.js';
export type { EdnValue } from './edn.js';
export {
  importPorcupineEtcd,
  importPorcupineKv,
  importJepsenEdn,
  detectFormat,
  parseHistory,
  ednToValue,
  HISTORY_FORMATS,
} from './importers.js';
export type { HistoryFormat } from './importers.js';
export { pairOps } from './pair.js';
export type { Operation, PairOptions } from './pair.js';
export { ETCD_FS, toNum, etcdValue } from './etcd.js';
export type {
  EtcdKeyValue,
  EtcdCompare,
  EtcdRangeRequest,
  EtcdPutRequest,
  EtcdDeleteRequest,
  EtcdRequestOp,
  EtcdTxnRequest,
  EtcdRangeResponse,
  EtcdPutResponse,
  EtcdDeleteResponse,
  EtcdResponseOp,
  EtcdTxnResponse,
} from './etcd.js';
export type { WatchRequest, WatchEvent, WatchResponse, WatchRecording } from './watch.js';
