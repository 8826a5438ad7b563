/** The shared byte-exact vectors of PROTOCOL.md, typed for the tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VECTORS_PATH = fileURLToPath(new URL('../../../shared/vectors/protocol.json', import.meta.url));

export interface OnionVector {
  enc_type: 'xchacha20-poly1305' | 'aes-gcm';
  client_x25519_secret: string;
  client_x25519_pkey: string;
  server_x25519_pkey: string;
  symmetric_key: string;
  plaintext_request: string;
  request: string;
  plaintext_reply: string;
  reply_nonce: string;
  reply: string;
}

export interface ProtocolVectors {
  gen_index_hash: { gen_index: number; salt: string; gen_index_hash: string }[];
  keys: Record<
    'master_seed' | 'master_pkey' | 'rotating_seed' | 'rotating_pkey' | 'backend_seed' | 'backend_pkey',
    string
  >;
  add_payment: {
    version: number;
    master_pkey: string;
    rotating_pkey: string;
    payment_token: string;
    hash: string;
    master_sig: string;
    rotating_sig: string;
  };
  get_pro_subscription_proof: {
    version: number;
    master_pkey: string;
    rotating_pkey: string;
    unix_ts_s: number;
    hash: string;
    master_sig: string;
    rotating_sig: string;
  };
  proof: {
    gen_index: number;
    salt: string;
    version: number;
    gen_index_hash: string;
    rotating_pkey: string;
    expiry_unix_ts_s: number;
    hash: string;
    sig: string;
  }[];
  backend_x25519: { backend_seed: string; x25519_secret: string; x25519_pkey: string };
  onion_v4: OnionVector[];
  rejected_pkeys: string[];
}

export const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as ProtocolVectors;
