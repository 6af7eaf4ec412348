export { checkLinearizability } from './linear/check.js';
export type { LinearizabilityReport, LinearizabilityOptions, PartitionReport } from './linear/check.js';
export { WglSearch } from './linear/wgl.js';
export type { SearchResult, SearchStats } from './linear/wgl.js';
export { REJECT, Interner } from './linear/model.js';
export type { Model } from './linear/model.js';
export { casRegisterModel } from './linear/register.js';
export { kvModel } from './linear/kv.js';
export { partitionByKey, keyOf, unkey } from './linear/keyed.js';
