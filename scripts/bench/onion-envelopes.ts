/**
 * Onion envelopes for the benchmark, built on the onion module's own pieces (inner request
 * encoding, symmetric key, cipher, envelope framing) but with the ephemeral X25519 key imported
 * as JWK: OpenSSL's DER import, which the client helper uses, costs a millisecond a key here.
 * bench.ts checks that an envelope built this way is byte for byte the client helper's.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import {
  encodeEnvelope,
  encrypt,
  ENC_TYPES,
  symmetricKey,
  type EncType,
} from '../../src/onion/envelope.ts';
import { encodeInnerRequest } from '../../src/onion/inner.ts';
import { fixedBytes, type Bytes } from '../../src/protocol/index.ts';

export interface OnionServerKey {
  publicKey: Bytes<32>;
  keyObject: KeyObject;
}

export function onionServerKey(publicKey: Uint8Array): OnionServerKey {
  const x = Buffer.from(publicKey).toString('base64url');
  return {
    publicKey: fixedBytes(Uint8Array.from(publicKey), 32),
    keyObject: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' }),
  };
}

/** The inner request every benchmark envelope carries: a JSON POST to `endpoint`. */
export function innerJsonPost(endpoint: string, json: string): Uint8Array {
  return encodeInnerRequest({
    method: 'POST',
    endpoint,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(json, 'utf8'),
  });
}

export interface EnvelopeOptions {
  encType: EncType;
  ephemeralSecret?: Uint8Array;
  nonce?: Uint8Array;
}

/** The POST body for /oxen/v4/lsrpc carrying `plaintext` for `server`. */
export function buildEnvelope(
  server: OnionServerKey,
  plaintext: Uint8Array,
  options: EnvelopeOptions,
): Buffer {
  const cipher = ENC_TYPES[options.encType];
  const secret = options.ephemeralSecret ?? randomBytes(32);
  const d = Buffer.from(secret).toString('base64url');
  const jwk = { kty: 'OKP', crv: 'X25519', d, x: '' };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  const ephemeralKey = fixedBytes(Buffer.from(x, 'base64url'), 32);

  const shared = diffieHellman({ privateKey, publicKey: server.keyObject });
  const key = symmetricKey(cipher, shared, ephemeralKey, server.publicKey);
  const ciphertext = encrypt(cipher, key, plaintext, options.nonce);
  return encodeEnvelope(ciphertext, ephemeralKey, options.encType);
}
