/**
 * Ed25519 for the protocol: the public-key rules, fast verification of client signatures and
 * signing with the backend key.
 *
 * Acceptance follows libsodium's crypto_sign_verify_detached, which Session clients and the
 * original backend use:
 * - a public key must be a canonical encoding (y < p) of a point that is not of small order;
 * - a signature's S must be canonical (S < L) and its R must not be of small order;
 * - the check is cofactorless: [S]B == R + [k]A with R compared as encoded bytes.
 * Verification runs in libsodium itself (sodium-native): the rules above are its own, and on the
 * benchmark machine it verifies in about 44 µs where Node's OpenSSL takes about 180 µs (it must
 * parse each request's new key) and pure JavaScript about 1.2 ms. The key and signature byte
 * rules are also checked here first, so that acceptance does not hang on how the bundled
 * libsodium was compiled (ED25519_COMPAT would drop them); they are a few byte comparisons.
 *
 * Proofs are signed with @noble/ed25519. Its sign() derives the key's scalar and public point
 * from the seed on every call, a second base-point multiplication as costly as the signature
 * itself; BackendKey derives them once and signs with the library's own point arithmetic.
 */
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import sodium from 'sodium-native';
import { asBuffer, fixedBytes, type PublicKey, type Seed, type Signature } from './bytes.ts';

ed.hashes.sha512 = sha512;

/**
 * The y-coordinates (sign bit cleared) of the eight points of small order. Each is the encoding
 * of a torsion point: y = 0 (order 4), y = 1 (the identity), y = p - 1 (order 2) and the two
 * y values shared by the four points of order 8. test/protocol/ed25519.test.ts recomputes them.
 */
export const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((hex) => Buffer.from(hex, 'hex'));

/** p = 2^255 - 19, little-endian. */
const P_LE = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');

/** L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/** Compares two 32-byte little-endian numbers, the top bit of `a` masked off when asked. */
function lessThanLE(a: Uint8Array, b: Uint8Array, maskTopBit: boolean): boolean {
  for (let i = 31; i >= 0; i--) {
    const ai = i === 31 && maskTopBit ? a[i]! & 0x7f : a[i]!;
    const bi = b[i]!;
    if (ai !== bi) return ai < bi;
  }
  return false;
}

function isSmallOrderEncoding(point: Uint8Array): boolean {
  for (const y of SMALL_ORDER_Y) {
    let same = (point[31]! & 0x7f) === y[31];
    for (let i = 0; same && i < 31; i++) same = point[i] === y[i];
    if (same) return true;
  }
  return false;
}

/** Why a public key is refused, or null when it is acceptable. */
export function publicKeyProblem(pkey: Uint8Array): string | null {
  if (pkey.length !== 32) return 'must be 32 bytes';
  if (!lessThanLE(pkey, P_LE, true)) return 'is not a canonical point encoding';
  if (isSmallOrderEncoding(pkey)) return 'is a point of small order';
  return null;
}

function signatureShapeIsValid(sig: Uint8Array): boolean {
  return sig.length === 64 && lessThanLE(sig.subarray(32), L_LE, false) && !isSmallOrderEncoding(sig);
}

/**
 * Verifies an Ed25519 signature by a client key with libsodium's acceptance rules. Returns false
 * for any refusal, including a key that does not decode to a curve point.
 */
export function verifyClientSignature(pkey: PublicKey, message: Uint8Array, sig: Signature): boolean {
  if (publicKeyProblem(pkey) !== null || !signatureShapeIsValid(sig)) return false;
  // libsodium also refuses a 32-byte string whose y has no matching x on the curve.
  return sodium.crypto_sign_verify_detached(asBuffer(sig), asBuffer(message), asBuffer(pkey));
}

/** L, the order of the base point. */
const L = ed.Point.CURVE().n;

/** SHA-512 in OpenSSL, for the signing path (a little faster than the pure-JS one). */
function sha512Of(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** A digest, read as a little-endian number, modulo L. Reverses the (fresh) digest in place. */
function scalarFromDigest(digest: Buffer): bigint {
  return ed.etc.mod(BigInt(`0x${digest.reverse().toString('hex')}`), L);
}

function scalarToLE32(scalar: bigint): Buffer {
  return Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex').reverse();
}

/** The backend's long-term signing key; the seed is the only secret, kept in the database. */
export class BackendKey {
  readonly publicKey: PublicKey;
  readonly #seed: Seed;
  /** RFC 8032's expanded key, derived once: the secret scalar s and the nonce prefix. */
  readonly #scalar: bigint;
  readonly #prefix: Uint8Array;

  constructor(seed: Seed) {
    this.#seed = fixedBytes(Uint8Array.from(seed), 32, 'backend key seed');
    const expanded = ed.utils.getExtendedPublicKey(this.#seed);
    this.publicKey = fixedBytes(expanded.pointBytes, 32);
    this.#scalar = expanded.scalar;
    this.#prefix = expanded.prefix;
    // The signing steps below are RFC 8032's, as ed.sign runs them; a mismatch is a bug, so it
    // stops start-up rather than issuing proofs that clients would refuse.
    const probe = new Uint8Array(32);
    if (!Buffer.from(this.sign(probe)).equals(ed.sign(probe, this.#seed))) {
      throw new Error('invariant: BackendKey.sign differs from @noble/ed25519 sign');
    }
  }

  static generate(): BackendKey {
    return new BackendKey(fixedBytes(ed.utils.randomSecretKey(), 32));
  }

  /** RFC 8032 5.1.6 with the expanded key: one base-point multiplication per signature. */
  sign(message: Uint8Array): Signature {
    const r = scalarFromDigest(sha512Of(this.#prefix, message));
    const R = ed.Point.BASE.multiply(r).toBytes();
    const k = scalarFromDigest(sha512Of(R, this.publicKey, message));
    const S = ed.etc.mod(r + k * this.#scalar, L);
    return fixedBytes(Buffer.concat([R, scalarToLE32(S)]), 64);
  }

  /** The seed, for storing in the database and for deriving the onion X25519 key. */
  exportSeed(): Seed {
    return fixedBytes(Uint8Array.from(this.#seed), 32);
  }

  /** Keeps the seed out of logs and error dumps. */
  toJSON(): { publicKey: string } {
    return { publicKey: Buffer.from(this.publicKey).toString('hex') };
  }
}

/** Signs with a raw seed: the client side of the protocol (tests, the benchmark, the client). */
export function signWithSeed(seed: Uint8Array, message: Uint8Array): Signature {
  return fixedBytes(ed.sign(message, seed), 64);
}

export function publicKeyFromSeed(seed: Uint8Array): PublicKey {
  return fixedBytes(ed.getPublicKey(seed), 32);
}

export function randomSeed(): Seed {
  return fixedBytes(ed.utils.randomSecretKey(), 32);
}
