/**
 * The benchmark's pre-signed requests. Every signed request uses its own (master key, rotating
 * key) pair, so no two carry the same signatures and no cache can answer for the crypto.
 */
import {
  addPaymentHash,
  getProofHash,
  PROTOCOL_VERSION,
  toHex,
  type PaymentToken,
} from '../../src/protocol/index.ts';
import type { EncType } from '../../src/onion/envelope.ts';
import { signWith, type ClientKey } from './client-keys.ts';
import { buildEnvelope, innerJsonPost, type OnionServerKey } from './onion-envelopes.ts';

export interface KeyMaterial {
  /** One per seeded subscriber. */
  masters: ClientKey[];
  rotating: ClientKey[];
}

export interface KeyPair {
  master: ClientKey;
  rotating: ClientKey;
}

/**
 * The pair for request number `n` of the run. Requests with the same master key differ in their
 * round `n / masters`, and each round moves to the next rotating key, so pairs never repeat
 * within `masters × rotating` requests.
 */
export function pairAt(keys: KeyMaterial, n: number): KeyPair {
  const m = n % keys.masters.length;
  const round = Math.floor(n / keys.masters.length);
  return {
    master: keys.masters[m]!,
    rotating: keys.rotating[(m + round) % keys.rotating.length]!,
  };
}

export function getProofJson({ master, rotating }: KeyPair, unixTsS: number): string {
  const hash = getProofHash(PROTOCOL_VERSION, master.publicKey, rotating.publicKey, unixTsS);
  return JSON.stringify({
    version: PROTOCOL_VERSION,
    master_pkey: toHex(master.publicKey),
    rotating_pkey: toHex(rotating.publicKey),
    unix_ts_s: unixTsS,
    master_sig: toHex(signWith(master, hash)),
    rotating_sig: toHex(signWith(rotating, hash)),
  });
}

export function addPaymentJson({ master, rotating }: KeyPair, token: PaymentToken): string {
  const hash = addPaymentHash(PROTOCOL_VERSION, master.publicKey, rotating.publicKey, token);
  return JSON.stringify({
    version: PROTOCOL_VERSION,
    master_pkey: toHex(master.publicKey),
    rotating_pkey: toHex(rotating.publicKey),
    payment_token: toHex(token),
    master_sig: toHex(signWith(master, hash)),
    rotating_sig: toHex(signWith(rotating, hash)),
  });
}

/** Both ciphers in turn, as clients of either kind would send them. */
export function encTypeAt(n: number): EncType {
  return n % 2 === 0 ? 'xchacha20-poly1305' : 'aes-gcm';
}

export function onionGetProofBody(
  server: OnionServerKey,
  pair: KeyPair,
  unixTsS: number,
  n: number,
): Buffer {
  const inner = innerJsonPost('/get_pro_subscription_proof', getProofJson(pair, unixTsS));
  return buildEnvelope(server, inner, { encType: encTypeAt(n) });
}

/** A slice of one pool: request numbers `from` to `from + count - 1`. */
export type PoolJob =
  | { kind: 'get_proof'; from: number; count: number; unixTsS: number }
  | { kind: 'add_payment'; from: number; count: number; tokens: PaymentToken[] }
  | {
      kind: 'onion_get_proof';
      from: number;
      count: number;
      unixTsS: number;
      onionPkey: Uint8Array;
    };

export function buildPool(
  keys: KeyMaterial,
  job: PoolJob,
  server?: OnionServerKey,
): (string | Buffer)[] {
  const out: (string | Buffer)[] = new Array(job.count);
  for (let i = 0; i < job.count; i++) {
    const pair = pairAt(keys, job.from + i);
    switch (job.kind) {
      case 'get_proof':
        out[i] = getProofJson(pair, job.unixTsS);
        break;
      case 'add_payment':
        out[i] = addPaymentJson(pair, job.tokens[i]!);
        break;
      case 'onion_get_proof':
        out[i] = onionGetProofBody(server!, pair, job.unixTsS, job.from + i);
        break;
    }
  }
  return out;
}
