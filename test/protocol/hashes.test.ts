import { blake2b } from '@noble/hashes/blake2.js';
import t from 'tap';
import {
  addPaymentHash,
  BackendKey,
  buildProof,
  fromHex,
  genIndexHash,
  getProofHash,
  proofHash,
  toHex,
  u64le,
} from '../../src/protocol/index.ts';
import { vectors } from '../support/vectors.ts';

const PERSONALIZATION = Uint8Array.from(Buffer.from('SeshProBackend\0\0', 'latin1'));

const key = (hex: string) => fromHex(hex, 32);

t.test('gen index hashes match every vector, salted with the database salt', async (t) => {
  t.equal(vectors.gen_index_hash.length, 8);
  for (const v of vectors.gen_index_hash) {
    t.equal(toHex(genIndexHash(v.gen_index, fromHex(v.salt, 16))), v.gen_index_hash, `gen index ${v.gen_index}`);
  }
});

t.test('a different salt gives a different gen index hash', async (t) => {
  const v = vectors.gen_index_hash[0]!;
  t.not(toHex(genIndexHash(v.gen_index, new Uint8Array(16) as never)), v.gen_index_hash);
});

t.test('the kept salted state follows the salt bytes, not the array holding them', async (t) => {
  const v = vectors.gen_index_hash[0]!;
  const expected = (salt: Uint8Array) =>
    toHex(blake2b(u64le(v.gen_index), { dkLen: 32, salt, personalization: PERSONALIZATION }));
  const salt = Uint8Array.from(fromHex(v.salt, 16));
  const other = new Uint8Array(16).fill(7);
  // Alternating salts, then the same array changed in place: each hash uses the salt it is given.
  t.equal(toHex(genIndexHash(v.gen_index, salt as never)), v.gen_index_hash);
  t.equal(toHex(genIndexHash(v.gen_index, other as never)), expected(other));
  t.equal(toHex(genIndexHash(v.gen_index, salt as never)), v.gen_index_hash);
  salt[0]! ^= 1;
  t.equal(toHex(genIndexHash(v.gen_index, salt as never)), expected(salt));
  t.not(expected(salt), v.gen_index_hash);
});

t.test('the add-payment hash matches the vector', async (t) => {
  const v = vectors.add_payment;
  const hash = addPaymentHash(v.version, key(v.master_pkey), key(v.rotating_pkey), key(v.payment_token));
  t.equal(toHex(hash), v.hash);
});

t.test('the get-proof hash matches the vector', async (t) => {
  const v = vectors.get_pro_subscription_proof;
  const hash = getProofHash(v.version, key(v.master_pkey), key(v.rotating_pkey), v.unix_ts_s);
  t.equal(toHex(hash), v.hash);
});

t.test('a version that is not one byte is refused by every hash, not wrapped to another', async (t) => {
  const a = vectors.add_payment;
  const g = vectors.get_pro_subscription_proof;
  const p = vectors.proof[0]!;
  for (const version of [256, -256, 0.5]) {
    t.throws(
      () => addPaymentHash(version, key(a.master_pkey), key(a.rotating_pkey), key(a.payment_token)),
      RangeError,
    );
    t.throws(
      () => getProofHash(version, key(g.master_pkey), key(g.rotating_pkey), g.unix_ts_s),
      RangeError,
    );
    t.throws(
      () => proofHash(version, key(p.gen_index_hash), key(p.rotating_pkey), p.expiry_unix_ts_s),
      RangeError,
    );
  }
});

t.test('proof hashes and backend signatures match every proof vector', async (t) => {
  const backend = new BackendKey(fromHex(vectors.keys.backend_seed, 32));
  t.equal(toHex(backend.publicKey), vectors.keys.backend_pkey);
  for (const v of vectors.proof) {
    const salted = genIndexHash(v.gen_index, fromHex(v.salt, 16));
    t.equal(toHex(salted), v.gen_index_hash, `gen index hash of ${v.gen_index}`);
    const hash = proofHash(v.version, salted, key(v.rotating_pkey), v.expiry_unix_ts_s);
    t.equal(toHex(hash), v.hash, `proof hash of gen index ${v.gen_index}`);
    t.same(buildProof(backend, salted, key(v.rotating_pkey), v.expiry_unix_ts_s), {
      expiry_unix_ts_s: v.expiry_unix_ts_s,
      gen_index_hash: v.gen_index_hash,
      rotating_pkey: v.rotating_pkey,
      sig: v.sig,
      version: 0,
    });
  }
});

t.test('the backend key never shows its seed when serialized', async (t) => {
  const backend = new BackendKey(fromHex(vectors.keys.backend_seed, 32));
  const shown = JSON.stringify({ backend });
  t.notMatch(shown, vectors.keys.backend_seed);
  t.match(shown, vectors.keys.backend_pkey);
});
