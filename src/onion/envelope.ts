/**
 * The v4 onion envelope: `u32 n` (little-endian), n bytes of ciphertext, then a JSON object
 * naming the client's ephemeral X25519 key and the cipher. This file parses it, derives the
 * symmetric key, decrypts the request and encrypts the reply under the same key and cipher.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import sodium from 'sodium-native';
import {
  asBuffer,
  ByteLengthError,
  concatBytes,
  fixedBytes,
  fromHex,
  type Bytes,
} from '../protocol/bytes.ts';
import {
  SmallOrderKeyError,
  x25519SharedSecret,
  type X25519KeyPair,
  type X25519PublicKey,
} from './keys.ts';

/** Thrown for an envelope that cannot be parsed or decrypted; the message is safe to show. */
export class OnionEnvelopeError extends Error {
  override name = 'OnionEnvelopeError';
}

export type OnionCipher = 'xchacha20' | 'aes-gcm';

/** The spellings of `enc_type` a client may send, and the cipher each one names. */
export const ENC_TYPES = {
  'xchacha20-poly1305': 'xchacha20',
  xchacha20: 'xchacha20',
  'aes-gcm': 'aes-gcm',
  gcm: 'aes-gcm',
} as const satisfies Record<string, OnionCipher>;

export type EncType = keyof typeof ENC_TYPES;

export type SymmetricKey = Bytes<32>;

export interface OnionEnvelope {
  readonly ciphertext: Uint8Array;
  readonly ephemeralKey: X25519PublicKey;
  readonly cipher: OnionCipher;
}

/** What the server keeps after opening a request: enough to seal the reply. */
export interface OpenedEnvelope {
  readonly cipher: OnionCipher;
  readonly key: SymmetricKey;
  readonly plaintext: Uint8Array;
}

const NONCE_LENGTH: Record<OnionCipher, number> = { xchacha20: 24, 'aes-gcm': 12 };
const TAG_LENGTH = 16;
const HMAC_KEY = 'LOKI';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function parseEnvelope(body: Uint8Array): OnionEnvelope {
  if (body.length < 4) throw new OnionEnvelopeError('onion body is shorter than its length prefix');

  const n = asBuffer(body).readUInt32LE(0);
  if (4 + n > body.length) throw new OnionEnvelopeError('onion ciphertext length exceeds the body');

  const metadata = parseMetadata(body.subarray(4 + n));
  return {
    ciphertext: body.subarray(4, 4 + n),
    ephemeralKey: parseEphemeralKey(metadata['ephemeral_key']),
    cipher: parseEncType(metadata['enc_type']),
  };
}

function parseMetadata(bytes: Uint8Array): Record<string, unknown> {
  let metadata: unknown;
  try {
    metadata = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new OnionEnvelopeError('onion metadata is not valid JSON');
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new OnionEnvelopeError('onion metadata is not a JSON object');
  }
  return metadata as Record<string, unknown>;
}

function parseEphemeralKey(value: unknown): X25519PublicKey {
  if (typeof value !== 'string') throw new OnionEnvelopeError('ephemeral_key is missing');
  try {
    return fromHex(value, 32, 'ephemeral_key');
  } catch (error) {
    if (error instanceof ByteLengthError) throw new OnionEnvelopeError(error.message);
    throw error;
  }
}

function parseEncType(value: unknown): OnionCipher {
  if (value === undefined) return 'aes-gcm';
  if (typeof value === 'string' && Object.hasOwn(ENC_TYPES, value)) {
    return ENC_TYPES[value as EncType];
  }
  throw new OnionEnvelopeError(`enc_type must be one of ${Object.keys(ENC_TYPES).join(', ')}`);
}

/** Writes an envelope the way Session clients do (Python-style spacing in the JSON). */
export function encodeEnvelope(
  ciphertext: Uint8Array,
  ephemeralKey: X25519PublicKey,
  encType: EncType,
): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(ciphertext.length, 0);
  const hexKey = Buffer.from(ephemeralKey).toString('hex');
  const metadata = `{"ephemeral_key": "${hexKey}", "enc_type": "${encType}"}`;
  return Buffer.concat([prefix, ciphertext, Buffer.from(metadata, 'utf8')]);
}

/** The symmetric key both sides derive from the X25519 shared secret `s`. */
export function symmetricKey(
  cipher: OnionCipher,
  sharedSecret: Uint8Array,
  ephemeralKey: X25519PublicKey,
  serverPublicKey: X25519PublicKey,
): SymmetricKey {
  if (cipher === 'xchacha20') {
    const input = concatBytes(sharedSecret, ephemeralKey, serverPublicKey);
    return fixedBytes(blake2b(input, { dkLen: 32 }), 32);
  }
  const digest = createHmac('sha256', HMAC_KEY).update(sharedSecret).digest();
  return fixedBytes(new Uint8Array(digest), 32);
}

/** The server's side: s = X25519(server secret, ephemeral key), then the symmetric key. */
export function serverSymmetricKey(server: X25519KeyPair, envelope: OnionEnvelope): SymmetricKey {
  let shared: Uint8Array;
  try {
    shared = x25519SharedSecret(server.secretKey, envelope.ephemeralKey);
  } catch (error) {
    if (error instanceof SmallOrderKeyError) {
      throw new OnionEnvelopeError('ephemeral_key is a point of small order');
    }
    throw error;
  }
  return symmetricKey(envelope.cipher, shared, envelope.ephemeralKey, server.publicKey);
}

/** Parses, derives the key and decrypts: every failure is an OnionEnvelopeError. */
export function openEnvelope(body: Uint8Array, server: X25519KeyPair): OpenedEnvelope {
  const envelope = parseEnvelope(body);
  const key = serverSymmetricKey(server, envelope);
  const plaintext = decrypt(envelope.cipher, key, envelope.ciphertext);
  return { cipher: envelope.cipher, key, plaintext };
}

/** `nonce ‖ ciphertext ‖ tag` back to the plaintext. */
export function decrypt(cipher: OnionCipher, key: SymmetricKey, sealed: Uint8Array): Uint8Array {
  const nonceLength = NONCE_LENGTH[cipher];
  if (sealed.length < nonceLength + TAG_LENGTH) {
    throw new OnionEnvelopeError('onion ciphertext is too short');
  }

  const nonce = sealed.subarray(0, nonceLength);
  const ciphertext = sealed.subarray(nonceLength);
  try {
    return cipher === 'xchacha20'
      ? xchachaDecrypt(key, nonce, ciphertext)
      : aesGcmDecrypt(key, nonce, ciphertext);
  } catch {
    throw new OnionEnvelopeError('onion ciphertext could not be decrypted');
  }
}

// XChaCha20-Poly1305 (IETF) in libsodium: about 2 µs for a request, where pure JS took 25.
function xchachaDecrypt(key: SymmetricKey, nonce: Uint8Array, ciphertext: Uint8Array): Buffer {
  const plaintext = Buffer.alloc(ciphertext.length - TAG_LENGTH);
  sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
    plaintext,
    null,
    asBuffer(ciphertext),
    null,
    asBuffer(nonce),
    asBuffer(key),
  );
  return plaintext;
}

function xchachaEncrypt(key: SymmetricKey, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const sealed = Buffer.alloc(plaintext.length + TAG_LENGTH);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    sealed,
    asBuffer(plaintext),
    null,
    null,
    asBuffer(nonce),
    asBuffer(key),
  );
  return sealed;
}

function aesGcmDecrypt(key: SymmetricKey, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const tagAt = ciphertext.length - TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(ciphertext.subarray(tagAt));
  return Buffer.concat([decipher.update(ciphertext.subarray(0, tagAt)), decipher.final()]);
}

/** Encrypts to `nonce ‖ ciphertext ‖ tag`, with a fresh random nonce unless one is given. */
export function encrypt(
  cipher: OnionCipher,
  key: SymmetricKey,
  plaintext: Uint8Array,
  nonce: Uint8Array = randomBytes(NONCE_LENGTH[cipher]),
): Buffer {
  if (nonce.length !== NONCE_LENGTH[cipher]) {
    throw new RangeError(`${cipher} nonce must be ${NONCE_LENGTH[cipher]} bytes`);
  }
  const sealed =
    cipher === 'xchacha20'
      ? xchachaEncrypt(key, nonce, plaintext)
      : aesGcmEncrypt(key, nonce, plaintext);
  return Buffer.concat([nonce, sealed]);
}

function aesGcmEncrypt(key: SymmetricKey, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}
