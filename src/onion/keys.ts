/**
 * The server's onion key: an X25519 key pair converted from the backend Ed25519 key the way
 * libsodium does it (crypto_sign_ed25519_sk_to_curve25519 and _pk_to_curve25519), so clients
 * can derive it from the backend public key they already know.
 *
 * The Diffie-Hellman step runs in libsodium (crypto_scalarmult), once per onion request: about
 * 40 µs, against about 55 µs in Node's OpenSSL (with its key import) and 2.5 ms for a pure-JS
 * ladder.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import sodium from 'sodium-native';
import { asBuffer, fixedBytes, type Bytes, type Seed } from '../protocol/bytes.ts';
import { publicKeyFromSeed } from '../protocol/ed25519.ts';

export type X25519SecretKey = Bytes<32>;
export type X25519PublicKey = Bytes<32>;

export interface X25519KeyPair {
  readonly secretKey: X25519SecretKey;
  readonly publicKey: X25519PublicKey;
}

/** The shared secret would be all zeros: the other side sent a point of small order. */
export class SmallOrderKeyError extends Error {
  override name = 'SmallOrderKeyError';

  constructor() {
    super('X25519 public key is a point of small order');
  }
}

/** Derives the onion key pair from the backend key's seed; the caller keeps it for the process. */
export function onionKeyPairFromSeed(seed: Seed): X25519KeyPair {
  // sha512(seed)[0..32], clamped: the scalar Ed25519 itself signs with.
  const secretKey = fixedBytes(ed25519.utils.toMontgomerySecret(seed).slice(), 32);

  // The Montgomery u of the Edwards public point: u = (1 + y) / (1 - y).
  const publicKey = fixedBytes(ed25519.utils.toMontgomery(publicKeyFromSeed(seed)), 32);

  return { secretKey, publicKey };
}

/** The public key of any X25519 secret (the client's ephemeral key, in tests and the client). */
export function x25519PublicKey(secretKey: X25519SecretKey): X25519PublicKey {
  const publicKey = Buffer.alloc(32);
  sodium.crypto_scalarmult_base(publicKey, asBuffer(secretKey));
  return fixedBytes(publicKey, 32);
}

/**
 * X25519(secretKey, publicKey). Throws SmallOrderKeyError when the other key is of small order:
 * the result would be all zeros, and libsodium refuses to return it.
 */
export function x25519SharedSecret(
  secretKey: X25519SecretKey,
  publicKey: X25519PublicKey,
): Bytes<32> {
  const shared = Buffer.alloc(32);
  try {
    sodium.crypto_scalarmult(shared, asBuffer(secretKey), asBuffer(publicKey));
  } catch {
    throw new SmallOrderKeyError();
  }
  return fixedBytes(shared, 32);
}
