/** The proof: the backend's signed statement that a rotating key holds Pro until an expiry. */
import { toHex, type Hash32, type PublicKey } from './bytes.ts';
import type { BackendKey } from './ed25519.ts';
import { PROTOCOL_VERSION, proofHash } from './hashes.ts';

/** The proof as it travels in JSON (keys in the order the original service sorted them). */
export interface ProofJson {
  expiry_unix_ts_s: number;
  gen_index_hash: string;
  rotating_pkey: string;
  sig: string;
  version: number;
}

export function buildProof(
  backendKey: BackendKey,
  genIndexHashBytes: Hash32,
  rotatingPkey: PublicKey,
  expiryUnixTsS: number,
): ProofJson {
  const hash = proofHash(PROTOCOL_VERSION, genIndexHashBytes, rotatingPkey, expiryUnixTsS);
  return {
    expiry_unix_ts_s: expiryUnixTsS,
    gen_index_hash: toHex(genIndexHashBytes),
    rotating_pkey: toHex(rotatingPkey),
    sig: toHex(backendKey.sign(hash)),
    version: PROTOCOL_VERSION,
  };
}
