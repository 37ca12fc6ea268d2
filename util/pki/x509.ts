// Certificates for the cluster: a CA, keys, CSRs and the certificates the CA
// signs, built with @peculiar/x509 on node's webcrypto (no hand-written ASN.1).
// Keys are ECDSA P-256, as k3s's; certificates are SHA-256 signed.

import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { errorMessage } from '../errors';

// @peculiar/x509 defaults to globalThis.crypto; name node's explicitly.
x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

export interface CertKey {
  certPem: string;
  keyPem: string;
}
export interface Subject {
  commonName: string;
  organizations?: string[];
}
export interface Sans {
  dns?: string[];
  ips?: string[];
}
export type CertUsage = 'client' | 'server' | 'client+server';
export interface SignOptions {
  usage: CertUsage;
  sans?: Sans;
  validityDays?: number;
  /** Overrides the CSR's subject (the signer decides who the certificate names). */
  subject?: Subject;
}
export interface IssueOptions {
  usage: CertUsage;
  sans?: Sans;
  validityDays?: number;
  /** When the validity starts (default: now); a moment long past gives an already expired certificate, for tests of refusals. */
  now?: Date;
}

/** k3s: the CA lives ten years, the certificates it signs one. */
export const CA_VALIDITY_DAYS = 3650;
export const CERT_VALIDITY_DAYS = 365;

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so a peer whose clock lags does not reject them. */
const BACKDATE_MS = 5 * 60 * 1000;

/** A new ECDSA P-256 private key as PKCS#8 PEM. */
export async function generateKeyPem(): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A self-signed CA certificate and its key. */
export async function createCA(commonName: string, validityDays = CA_VALIDITY_DAYS): Promise<CertKey> {
  const keyPem = await generateKeyPem();
  const keys = await importKeyPair(keyPem);
  const { notBefore, notAfter } = validity(validityDays);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: jsonName({ commonName }),
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem };
}

/** A PKCS#10 request for `subject`, signed with `keyPem`. */
export async function createCsr(keyPem: string, subject: Subject): Promise<string> {
  const keys = await importKeyPair(keyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: jsonName(subject),
    keys,
    signingAlgorithm: SIGNING,
  });
  return csr.toString('pem');
}

/**
 * Signs a CSR with the CA. The CSR's own signature must verify (it proves the
 * requester holds the key); its requested extensions are ignored: usage and
 * SANs come from the signer only.
 */
export async function signCsr(ca: CertKey, csrPem: string, opts: SignOptions): Promise<string> {
  const csr = parseCsr(csrPem);
  if (!(await csr.verify())) throw new Error('certificate signing request: signature does not verify');
  const subject = opts.subject ?? subjectOf(csr.subjectName);
  if (subject.commonName === '') throw new Error('certificate signing request: subject has no common name');
  return signPublicKey(ca, csr.publicKey, subject, opts);
}

/** A new key and a certificate for it, signed by the CA. */
export async function issue(ca: CertKey, subject: Subject, opts: IssueOptions): Promise<CertKey> {
  const keyPem = await generateKeyPem();
  const keys = await importKeyPair(keyPem);
  const certPem = await signPublicKey(ca, await x509.PublicKey.create(keys.publicKey), subject, opts);
  return { certPem, keyPem };
}

/**
 * sha256 hex of a CSR's public key (its SubjectPublicKeyInfo DER): what
 * names the key a node joined with, without trusting anything else in the CSR.
 */
export function csrPublicKeyHash(csrPem: string): string {
  const der = Buffer.from(parseCsr(csrPem).publicKey.rawData);
  return createHash('sha256').update(der).digest('hex');
}

/** sha256 hex of the CA certificate's DER: what a k3s join token pins. */
export function caHash(caCertPem: string): string {
  const der = Buffer.from(parseCert(caCertPem).rawData);
  return createHash('sha256').update(der).digest('hex');
}

export interface CertificateInfo {
  subject: Subject;
  notBefore: Date;
  notAfter: Date;
  sans: Sans;
}

/** Who a certificate names, when it is valid and for which names. Throws a one-line error for malformed PEM. */
export function certificateInfo(certPem: string): CertificateInfo {
  const cert = parseCert(certPem);
  const sanExt = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = sanExt?.names.items ?? [];
  return {
    subject: subjectOf(cert.subjectName),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    sans: {
      dns: names.filter((n) => n.type === 'dns').map((n) => n.value),
      ips: names.filter((n) => n.type === 'ip').map((n) => n.value),
    },
  };
}

async function signPublicKey(ca: CertKey, publicKey: x509.PublicKey, subject: Subject, opts: IssueOptions): Promise<string> {
  const caCert = parseCert(ca.certPem);
  const caKeys = await importKeyPair(ca.keyPem);
  const { notBefore, notAfter } = validity(opts.validityDays ?? CERT_VALIDITY_DAYS, opts.now);
  // Never outlive the CA: a chain is only as valid as its shortest link.
  const end = notAfter > caCert.notAfter ? caCert.notAfter : notAfter;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages(opts.usage), false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
  ];
  const names = generalNames(opts.sans);
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: jsonName(subject),
    issuer: caCert.subjectName,
    notBefore,
    notAfter: end,
    publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return cert.toString('pem');
}

function extendedUsages(usage: CertUsage): x509.ExtendedKeyUsage[] {
  switch (usage) {
    case 'client':
      return [x509.ExtendedKeyUsage.clientAuth];
    case 'server':
      return [x509.ExtendedKeyUsage.serverAuth];
    case 'client+server':
      return [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  }
}

function generalNames(sans: Sans | undefined): x509.JsonGeneralNames {
  return [
    ...unique(sans?.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...unique(sans?.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
}

function jsonName(subject: Subject): x509.JsonName {
  return [{ CN: [subject.commonName] }, ...(subject.organizations ?? []).map((o) => ({ O: [o] }))];
}

function subjectOf(name: x509.Name): Subject {
  const commonName = name.getField('CN')[0] ?? '';
  const organizations = name.getField('O');
  return organizations.length > 0 ? { commonName, organizations } : { commonName };
}

async function importKeyPair(keyPem: string): Promise<webcrypto.CryptoKeyPair> {
  let spki: Buffer;
  let pkcs8: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new Error(`private key: not a valid PEM key (${errorMessage(err)})`, { cause: err });
  }
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_KEY, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC_KEY, true, ['verify']);
  return { privateKey, publicKey } as webcrypto.CryptoKeyPair;
}

/** Parses a PEM certificate; a malformed one gives one line naming what is wrong. */
export function parseCert(certPem: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(certPem);
  } catch (err) {
    throw new Error(`certificate: not a valid PEM X.509 certificate (${errorMessage(err)})`, { cause: err });
  }
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new Error(`certificate signing request: not a valid PEM PKCS#10 request (${errorMessage(err)})`, { cause: err });
  }
}

function validity(days: number, at = new Date()): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`validityDays: must be a positive number of days, got ${days}`);
  const now = at.getTime();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** 128 random bits, top bit clear so the DER integer stays positive. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}
