/**
 * The benchmark's clients: Ed25519 key pairs held as OpenSSL key objects, so that pre-signing
 * tens of thousands of requests takes seconds rather than a minute. Signatures are deterministic
 * (RFC 8032), so they are the same bytes the project's client helpers would produce; bench.ts
 * checks one body of each kind against those helpers.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { fixedBytes, type PublicKey, type Signature } from '../../src/protocol/index.ts';

export interface ClientKey {
  seed: Uint8Array;
  publicKey: PublicKey;
  privateKey: KeyObject;
}

/** A key pair from a 32-byte seed. JWK import: OpenSSL's DER decoders cost ten times more. */
export function clientKeyFromSeed(seed: Uint8Array): ClientKey {
  const d = Buffer.from(seed).toString('base64url');
  const jwk = { kty: 'OKP', crv: 'Ed25519', d, x: '' };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  return { seed, publicKey: fixedBytes(Buffer.from(x, 'base64url'), 32), privateKey };
}

export function randomClientKeys(count: number): ClientKey[] {
  return Array.from({ length: count }, () => clientKeyFromSeed(randomBytes(32)));
}

export function signWith(key: ClientKey, message: Uint8Array): Signature {
  return fixedBytes(sign(null, message, key.privateKey), 64);
}
