export { NodeDisk } from './disk.js';
export { NodeClock } from './clock.js';
export { NodeRand } from './rand.js';
export { consoleLogger } from './logger.js';
export type { LogLevel, LogSink } from './logger.js';
export { nodeEnv } from './env.js';
export type { NodeEnv, NodeEnvOptions } from './env.js';
export { createCertificate, ensureSelfSignedCertificate } from './certs.js';
export type { CertificateFiles, CertificatePem, CertificateSpec } from './certs.js';
