/**
 * X.509 certificates for --auto-tls / --peer-auto-tls and for tests: a CA, leaf certificates
 * signed by it, or a self-signed one. node:crypto generates the RSA keys (native, ~50 ms) and
 * node-forge builds and signs the certificates, which node:crypto cannot do.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type Forge from 'node-forge';

let forgeModule: typeof Forge | undefined;
/** Loaded on first use: node-forge takes 150-300 ms to load and most processes never need it. */
function forge(): typeof Forge {
  forgeModule ??= createRequire(import.meta.url)('node-forge') as typeof Forge;
  return forgeModule;
}

export interface CertificateSpec {
  readonly commonName: string;
  /** IP addresses and DNS names for the subject alternative name extension (server certificates). */
  readonly hosts?: readonly string[];
  /** Default 365 (etcd's --self-signed-cert-validity of one year). */
  readonly validityDays?: number;
  /** A certificate authority: may sign other certificates, not a TLS endpoint itself. */
  readonly isCa?: boolean;
  /** Negative values issue an already-expired certificate (tests). Default 0. */
  readonly startOffsetDays?: number;
}

export interface CertificatePem {
  readonly certPem: string;
  readonly keyPem: string;
}

const MS_PER_DAY = 86_400_000;
const RSA_KEY_BITS = 2048;

function subjectAltNames(hosts: readonly string[]): { type: number; value?: string; ip?: string }[] {
  // GeneralName tags: 2 = dNSName, 7 = iPAddress.
  return hosts.map((h) => (isIP(h) !== 0 ? { type: 7, ip: h } : { type: 2, value: h }));
}

function extensionsFor(spec: CertificateSpec): object[] {
  if (spec.isCa === true) {
    return [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ];
  }
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // Both usages: a member's peer certificate is its server and its client certificate.
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ];
  const hosts = spec.hosts ?? [];
  if (hosts.length > 0) extensions.push({ name: 'subjectAltName', altNames: subjectAltNames(hosts) });
  return extensions;
}

/** Issues a certificate signed by `issuer`, or self-signed when there is no issuer. */
export function createCertificate(spec: CertificateSpec, issuer?: CertificatePem): CertificatePem {
  const keys = generateKeyPairSync('rsa', { modulusLength: RSA_KEY_BITS });
  const keyPem = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const privateKey = forge().pki.privateKeyFromPem(keyPem) as Forge.pki.rsa.PrivateKey;
  const cert = forge().pki.createCertificate();
  cert.publicKey = forge().pki.setRsaPublicKey(privateKey.n, privateKey.e);
  // A positive serial: clear the top bit so DER does not read it as negative.
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const startMs = Date.now() + (spec.startOffsetDays ?? 0) * MS_PER_DAY - 60_000;
  cert.validity.notBefore = new Date(startMs);
  cert.validity.notAfter = new Date(startMs + (spec.validityDays ?? 365) * MS_PER_DAY);
  const subject = [{ name: 'commonName', value: spec.commonName }, { name: 'organizationName', value: 'tsetcd' }];
  cert.setSubject(subject);
  if (issuer === undefined) cert.setIssuer(subject);
  else cert.setIssuer(forge().pki.certificateFromPem(issuer.certPem).subject.attributes);
  cert.setExtensions(extensionsFor(spec));
  const signingKey = issuer === undefined ? privateKey : (forge().pki.privateKeyFromPem(issuer.keyPem) as Forge.pki.rsa.PrivateKey);
  cert.sign(signingKey, forge().md.sha256.create());
  return { certPem: forge().pki.certificateToPem(cert), keyPem };
}

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * etcd's SelfCert: a self-signed certificate for `hosts` in `dir` (cert.pem, key.pem), kept
 * across restarts: an existing pair is reused, so peers that saw it once still see it.
 */
export function ensureSelfSignedCertificate(dir: string, hosts: readonly string[]): CertificateFiles {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pem = createCertificate({ commonName: 'tsetcd', hosts });
  writeFileSync(keyFile, pem.keyPem, { mode: 0o600 });
  writeFileSync(certFile, pem.certPem, { mode: 0o644 });
  return { certFile, keyFile };
}
