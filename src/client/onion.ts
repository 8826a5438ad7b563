/**
 * The client side of a v4 onion request, for tests, the benchmark and TypeScript clients: wraps
 * an inner request for the server's X25519 key under a fresh ephemeral key, and opens the reply.
 */
import { randomBytes } from 'node:crypto';
import { fixedBytes } from '../protocol/bytes.ts';
import {
  decrypt,
  encodeEnvelope,
  encrypt,
  ENC_TYPES,
  symmetricKey,
  type EncType,
} from '../onion/envelope.ts';
import { decodeInnerReply, encodeInnerRequest, type InnerMethod } from '../onion/inner.ts';
import {
  x25519PublicKey,
  x25519SharedSecret,
  type X25519PublicKey,
  type X25519SecretKey,
} from '../onion/keys.ts';

export interface OnionInnerRequest {
  method: InnerMethod;
  endpoint: string;
  headers?: Record<string, string>;
  /** Omitted: the plaintext list has one element. */
  body?: Uint8Array | string;
}

export interface OnionReply {
  code: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface OnionRequestOptions {
  /** The `enc_type` spelling to send; xchacha20-poly1305 unless given. */
  encType?: EncType;
  /** Fixed ephemeral secret and nonce, for reproducing vectors; random otherwise. */
  ephemeralSecret?: X25519SecretKey;
  nonce?: Uint8Array;
}

export interface OnionRequest {
  /** The POST body for /oxen/v4/lsrpc. */
  body: Buffer;
  /** Decrypts and decodes the server's 200 reply body; throws if it does not authenticate. */
  open(replyBody: Uint8Array): OnionReply;
}

export function buildOnionRequest(
  serverPublicKey: X25519PublicKey,
  request: OnionInnerRequest,
  options: OnionRequestOptions = {},
): OnionRequest {
  const plaintext = encodeInnerRequest({
    method: request.method,
    endpoint: request.endpoint,
    headers: request.headers ?? {},
    body: typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body,
  });
  const sealed = sealOnionPayload(serverPublicKey, plaintext, options);

  return {
    body: sealed.body,
    open(replyBody) {
      const reply = decodeInnerReply(sealed.open(replyBody));
      return { code: reply.code, headers: reply.headers, body: Buffer.from(reply.body) };
    },
  };
}

export interface SealedPayload {
  body: Buffer;
  /** Decrypts the reply body to its plaintext, without decoding it. */
  open(replyBody: Uint8Array): Uint8Array;
}

/** Envelopes any plaintext, valid inner request or not (tests use it to send malformed ones). */
export function sealOnionPayload(
  serverPublicKey: X25519PublicKey,
  plaintext: Uint8Array,
  options: OnionRequestOptions = {},
): SealedPayload {
  const encType = options.encType ?? 'xchacha20-poly1305';
  const cipher = ENC_TYPES[encType];
  const ephemeralSecret = options.ephemeralSecret ?? fixedBytes(randomBytes(32), 32);
  const ephemeralKey = x25519PublicKey(ephemeralSecret);

  const shared = x25519SharedSecret(ephemeralSecret, serverPublicKey);
  const key = symmetricKey(cipher, shared, ephemeralKey, serverPublicKey);
  const ciphertext = encrypt(cipher, key, plaintext, options.nonce);

  return {
    body: encodeEnvelope(ciphertext, ephemeralKey, encType),
    open: (replyBody) => decrypt(cipher, key, replyBody),
  };
}
