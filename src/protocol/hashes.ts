/**
 * The four BLAKE2b-256 hashes of the protocol. Every hash uses the personalization
 * "SeshProBackend\0\0"; only the gen index hash is salted (with the database salt).
 */
import { blake2b } from '@noble/hashes/blake2.js';
import {
  bytesEqual,
  concatBytes,
  fixedBytes,
  u64le,
  u8,
  type Hash32,
  type PaymentToken,
  type PublicKey,
  type Salt,
} from './bytes.ts';

export const PROTOCOL_VERSION = 0;

const PERSONALIZATION = new Uint8Array(16);
PERSONALIZATION.set(new TextEncoder().encode('SeshProBackend'));

/**
 * The initial states, personalization and salt already mixed in. Each hash clones one: the same
 * digest as blake2b(message, options), without re-deriving the parameter block every time. A
 * server has one salt, so one salted state is kept, found again by the salt's bytes.
 */
const UNSALTED = blake2b.create({ dkLen: 32, personalization: PERSONALIZATION });
let salted: { salt: Uint8Array; state: typeof UNSALTED } | undefined;

function initialState(salt: Uint8Array | undefined): typeof UNSALTED {
  if (salt === undefined) return UNSALTED;
  if (salted === undefined || !bytesEqual(salted.salt, salt)) {
    const state = blake2b.create({ dkLen: 32, salt, personalization: PERSONALIZATION });
    salted = { salt: Uint8Array.from(salt), state };
  }
  return salted.state;
}

function backendHash(message: Uint8Array, salt?: Uint8Array): Hash32 {
  return fixedBytes(initialState(salt).clone().update(message).digest(), 32);
}

/** Salted so that the raw gen index (which dates a subscription) never leaves the server. */
export function genIndexHash(genIndex: number, salt: Salt): Hash32 {
  return backendHash(u64le(genIndex), salt);
}

/** What both signatures of /add_payment are over. */
export function addPaymentHash(
  version: number,
  masterPkey: PublicKey,
  rotatingPkey: PublicKey,
  paymentToken: PaymentToken,
): Hash32 {
  return backendHash(concatBytes(u8(version), masterPkey, rotatingPkey, paymentToken));
}

/** What both signatures of /get_pro_subscription_proof are over. */
export function getProofHash(
  version: number,
  masterPkey: PublicKey,
  rotatingPkey: PublicKey,
  unixTsS: number,
): Hash32 {
  return backendHash(concatBytes(u8(version), masterPkey, rotatingPkey, u64le(unixTsS)));
}

/** What the backend key signs in a proof. */
export function proofHash(
  version: number,
  genIndexHashBytes: Hash32,
  rotatingPkey: PublicKey,
  expiryUnixTsS: number,
): Hash32 {
  return backendHash(
    concatBytes(u8(version), genIndexHashBytes, rotatingPkey, u64le(expiryUnixTsS)),
  );
}
