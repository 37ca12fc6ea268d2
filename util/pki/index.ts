// The cluster PKI: a CA, the certificates it signs, and their files on disk.
export {
  createCA,
  generateKeyPem,
  createCsr,
  signCsr,
  issue,
  caHash,
  csrPublicKeyHash,
  certificateInfo,
  parseCert,
  CA_VALIDITY_DAYS,
  CERT_VALIDITY_DAYS,
} from './x509';
export type { CertKey, Subject, Sans, CertUsage, SignOptions, IssueOptions, CertificateInfo } from './x509';
export { needsRenewal, coversSans, RENEW_BEFORE_DAYS } from './renewal';
export { loadOrCreateClusterPki, pathsIn, writePrivate, CA_COMMON_NAME, SERVER_COMMON_NAME, ETCD_CLIENT_COMMON_NAME, ADMIN_USER, ADMIN_GROUP } from './cluster';
export type { ClusterPki, ClusterPkiOptions, PkiFile } from './cluster';
