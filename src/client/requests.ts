/**
 * Building and checking Session Pro messages on the client side: the signed requests a Session
 * client sends, and the checks it makes of the proofs and revocation lists it receives.
 */
import {
  addPaymentHash,
  fixedBytes,
  fromHex,
  getProofHash,
  PROTOCOL_VERSION,
  proofHash,
  publicKeyFromSeed,
  signWithSeed,
  toHex,
  verifyClientSignature,
  type ProofJson,
} from '../protocol/index.ts';

/** A client's two key pairs, given by their Ed25519 seeds. */
export interface ClientKeys {
  masterSeed: Uint8Array;
  rotatingSeed: Uint8Array;
}

export interface AddPaymentBody {
  version: number;
  master_pkey: string;
  rotating_pkey: string;
  payment_token: string;
  master_sig: string;
  rotating_sig: string;
}

export interface GetProofBody {
  version: number;
  master_pkey: string;
  rotating_pkey: string;
  unix_ts_s: number;
  master_sig: string;
  rotating_sig: string;
}

export interface RevocationListJson {
  version: number;
  ticket: number;
  list: { expiry_unix_ts_s: number; gen_index_hash: string }[];
}

function signedBy(keys: ClientKeys, hash: Uint8Array) {
  return {
    master_sig: toHex(signWithSeed(keys.masterSeed, hash)),
    rotating_sig: toHex(signWithSeed(keys.rotatingSeed, hash)),
  };
}

/** The body of POST /add_payment: redeem `paymentToken` (32 bytes) for these keys. */
export function addPaymentBody(keys: ClientKeys, paymentToken: Uint8Array): AddPaymentBody {
  const masterPkey = publicKeyFromSeed(keys.masterSeed);
  const rotatingPkey = publicKeyFromSeed(keys.rotatingSeed);
  const token = fixedBytes(paymentToken, 32, 'payment token');
  const hash = addPaymentHash(PROTOCOL_VERSION, masterPkey, rotatingPkey, token);
  return {
    version: PROTOCOL_VERSION,
    master_pkey: toHex(masterPkey),
    rotating_pkey: toHex(rotatingPkey),
    payment_token: toHex(token),
    ...signedBy(keys, hash),
  };
}

/** The body of POST /get_pro_subscription_proof, stamped with `unixTsS` (default: now). */
export function getProofBody(
  keys: ClientKeys,
  unixTsS: number = Math.floor(Date.now() / 1000),
): GetProofBody {
  const masterPkey = publicKeyFromSeed(keys.masterSeed);
  const rotatingPkey = publicKeyFromSeed(keys.rotatingSeed);
  const hash = getProofHash(PROTOCOL_VERSION, masterPkey, rotatingPkey, unixTsS);
  return {
    version: PROTOCOL_VERSION,
    master_pkey: toHex(masterPkey),
    rotating_pkey: toHex(rotatingPkey),
    unix_ts_s: unixTsS,
    ...signedBy(keys, hash),
  };
}

export function getRevocationsBody(ticket: number) {
  return { version: PROTOCOL_VERSION, ticket };
}

/**
 * True when `proof` is a version 0 proof and carries a valid backend signature (whatever its
 * expiry). A proof of another version is not one this client can read.
 */
export function proofSignatureIsValid(proof: ProofJson, backendPkey: string): boolean {
  if (proof.version !== PROTOCOL_VERSION) return false;
  try {
    const hash = proofHash(
      proof.version,
      fromHex(proof.gen_index_hash, 32),
      fromHex(proof.rotating_pkey, 32),
      proof.expiry_unix_ts_s,
    );
    return verifyClientSignature(fromHex(backendPkey, 32), hash, fromHex(proof.sig, 64));
  } catch {
    return false;
  }
}

/** Whether the revocation list voids `proof` at `nowUnixTsS`. */
export function proofIsRevoked(
  proof: ProofJson,
  revocations: RevocationListJson,
  nowUnixTsS: number,
): boolean {
  const hash = proof.gen_index_hash.toLowerCase();
  return revocations.list.some(
    (r) => r.gen_index_hash === hash && r.expiry_unix_ts_s > nowUnixTsS,
  );
}

/**
 * What a client checks before it shows Pro for a proof: the backend signed it, it has not
 * expired and the revocation list does not void it.
 */
export function proofHoldsPro(
  proof: ProofJson,
  backendPkey: string,
  revocations: RevocationListJson,
  nowUnixTsS: number,
): boolean {
  return (
    proofSignatureIsValid(proof, backendPkey) &&
    proof.expiry_unix_ts_s > nowUnixTsS &&
    !proofIsRevoked(proof, revocations, nowUnixTsS)
  );
}

/** A well-formed revocation list: version 0, a ticket, 32-byte hashes with integer expiries. */
export function revocationListIsWellFormed(value: unknown): value is RevocationListJson {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as RevocationListJson;
  return (
    v.version === PROTOCOL_VERSION &&
    Number.isSafeInteger(v.ticket) &&
    Array.isArray(v.list) &&
    v.list.every(
      (r) => /^[0-9a-f]{64}$/.test(r.gen_index_hash) && Number.isSafeInteger(r.expiry_unix_ts_s),
    )
  );
}
