/**
 * The four BLAKE2b-256 hashes of the protocol. Every hash uses the personalization
 * "SeshProBackend\0\0"; only the gen index hash is salted (with the database salt).
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { concatBytes, fixedBytes, u64le, type Hash32, type PaymentToken, type PublicKey, type Salt } from './bytes.ts';

export const PROTOCOL_VERSION = 0;

const PERSONALIZATION = new Uint8Array(16);
PERSONALIZATION.set(new TextEncoder().encode('SeshProBackend'));

/**
 * The initial states, personalization and salt already mixed in. Each hash clones one: the same
 * digest as blake2b(message, options), without re-deriving the parameter block every time.
 */
const UNSALTED = blake2b.create({ dkLen: 32, personalization: PERSONALIZATION });
const saltedStates = new WeakMap<Uint8Array, typeof UNSALTED>();

function initialState(salt: Uint8Array | undefined): typeof UNSALTED {
  if (salt === undefined) return UNSALTED;
  let state = saltedStates.get(salt);
  if (state === undefined) {
    state = blake2b.create({ dkLen: 32, salt, personalization: PERSONALIZATION });
    saltedStates.set(salt, state);
  }
  return state;
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
  return backendHash(concatBytes(Uint8Array.of(version), masterPkey, rotatingPkey, paymentToken));
}

/** What both signatures of /get_pro_subscription_proof are over. */
export function getProofHash(
  version: number,
  masterPkey: PublicKey,
  rotatingPkey: PublicKey,
  unixTsS: number,
): Hash32 {
  return backendHash(concatBytes(Uint8Array.of(version), masterPkey, rotatingPkey, u64le(unixTsS)));
}

/** What the backend key signs in a proof. */
export function proofHash(
  version: number,
  genIndexHashBytes: Hash32,
  rotatingPkey: PublicKey,
  expiryUnixTsS: number,
): Hash32 {
  return backendHash(
    concatBytes(Uint8Array.of(version), genIndexHashBytes, rotatingPkey, u64le(expiryUnixTsS)),
  );
}
