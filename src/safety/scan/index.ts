// The malware scanner's public surface (issue 8, GEN-2c): the pure scanner, its signature database and the worker pool.
export {
  scanTarball,
  type Finding,
  type ScanResult,
  type Verdict,
  SUSPICIOUS_SCORE,
  MALICIOUS_SCORE,
} from './scanner.ts';
export { loadSignatures, type SignatureDb } from './signatures.ts';
export { ScanPool, type PoolResult } from './pool.ts';
