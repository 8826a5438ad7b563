import { randomBytes, verify as opensslVerify, createPublicKey } from 'node:crypto';
import * as ed from '@noble/ed25519';
import sodium from 'sodium-native';
import t from 'tap';
import {
  fromHex,
  publicKeyFromSeed,
  publicKeyProblem,
  signWithSeed,
  SMALL_ORDER_Y,
  toHex,
  verifyClientSignature,
  type PublicKey,
  type Signature,
} from '../../src/protocol/index.ts';
import { vectors } from '../support/vectors.ts';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function bigintToLe(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

t.test('the vector signatures of both requests verify', async (t) => {
  for (const v of [vectors.add_payment, vectors.get_pro_subscription_proof]) {
    const hash = fromHex(v.hash, 32);
    t.ok(verifyClientSignature(fromHex(v.master_pkey, 32), hash, fromHex(v.master_sig, 64)));
    t.ok(verifyClientSignature(fromHex(v.rotating_pkey, 32), hash, fromHex(v.rotating_sig, 64)));
    t.notOk(verifyClientSignature(fromHex(v.rotating_pkey, 32), hash, fromHex(v.master_sig, 64)));
  }
});

t.test('the vector keys derive from their seeds', async (t) => {
  t.equal(toHex(publicKeyFromSeed(fromHex(vectors.keys.master_seed, 32))), vectors.keys.master_pkey);
  t.equal(toHex(publicKeyFromSeed(fromHex(vectors.keys.rotating_seed, 32))), vectors.keys.rotating_pkey);
});

t.test('every rejected public key of the vectors is refused', async (t) => {
  t.equal(vectors.rejected_pkeys.length, 8);
  for (const hex of vectors.rejected_pkeys) {
    t.not(publicKeyProblem(fromHex(hex, 32)), null, hex);
  }
});

t.test('the small-order list is exactly the torsion points, by their y coordinate', async (t) => {
  // Every listed y, with either sign bit where a point exists, decodes to a point of small order.
  for (const y of SMALL_ORDER_Y) {
    const point = ed.Point.fromBytes(Uint8Array.from(y), true);
    t.ok(point.isSmallOrder(), toHex(y));
  }
  // The eight torsion points are multiples of one point of order 8; their y values are the list.
  const order8 = ed.Point.fromBytes(fromHex(vectors.rejected_pkeys[5]!, 32), true);
  const ys = new Set<string>();
  let p = ed.Point.ZERO;
  for (let i = 0; i < 8; i++) {
    const bytes = p.toBytes();
    bytes[31]! &= 0x7f;
    ys.add(toHex(bytes));
    p = p.add(order8);
  }
  t.same([...ys].sort(), SMALL_ORDER_Y.map((y) => toHex(y)).sort());
});

t.test('a signature by a small-order key is refused even where plain Ed25519 accepts it', async (t) => {
  // With A the identity, [S]B = R + [k]A holds for R = [r]B, S = r, whatever the message.
  const identity = fromHex(vectors.rejected_pkeys[1]!, 32) as PublicKey;
  const r = 12345n;
  const sig = new Uint8Array(64);
  sig.set(ed.Point.BASE.multiply(r).toBytes(), 0);
  sig.set(bigintToLe(r), 32);
  const message = randomBytes(32);
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), identity]);
  const plain = opensslVerify(null, message, createPublicKey({ key: der, format: 'der', type: 'spki' }), sig);
  t.ok(plain, 'OpenSSL alone accepts the forgery');
  t.notOk(verifyClientSignature(identity, message, sig as Signature));
  t.notOk(libsodiumAlone(identity, message, sig), 'libsodium alone refuses it too');
});

/** The bundled libsodium without our byte checks in front of it. */
function libsodiumAlone(pkey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  return sodium.crypto_sign_verify_detached(Buffer.from(sig), Buffer.from(message), Buffer.from(pkey));
}

t.test('the bundled libsodium refuses, by itself, everything the byte checks refuse', async (t) => {
  // So the checks in front of it never decide differently from libsodium: they only make sure a
  // build of libsodium without them (ED25519_COMPAT) could not change the answer.
  const seed = randomBytes(32);
  const message = randomBytes(32);
  const sig = signWithSeed(seed, message);
  const pkey = publicKeyFromSeed(seed);
  t.ok(libsodiumAlone(pkey, message, sig), 'a valid signature verifies');
  const highS = new Uint8Array(sig);
  highS.set(bigintToLe(leToBigint(sig.subarray(32)) + L), 32);
  t.notOk(libsodiumAlone(pkey, message, highS), 'S + L');
  for (const hex of vectors.rejected_pkeys) {
    t.notOk(libsodiumAlone(fromHex(hex, 32), message, sig), `rejected key ${hex}`);
    const smallR = new Uint8Array(sig);
    smallR.set(fromHex(hex, 32), 0);
    t.notOk(libsodiumAlone(pkey, message, smallR), `R = ${hex}`);
  }
  for (const y of [P, P + 1n, 2n ** 255n - 1n]) {
    t.notOk(libsodiumAlone(bigintToLe(y), message, sig), `non-canonical key y = ${y.toString(16)}`);
  }
});

t.test('non-canonical public key encodings (y >= p) are refused', async (t) => {
  for (const y of [P, P + 1n, P + 2n, 2n ** 255n - 1n]) {
    const bytes = bigintToLe(y);
    t.equal(publicKeyProblem(bytes), 'is not a canonical point encoding', y.toString(16));
  }
});

t.test('a key that is not a curve point is refused without throwing', async (t) => {
  // y = 2 has no x on the curve.
  const bytes = bigintToLe(2n) as PublicKey;
  t.equal(publicKeyProblem(bytes), null);
  t.notOk(verifyClientSignature(bytes, new Uint8Array(32), new Uint8Array(64).fill(1) as Signature));
});

t.test('a non-canonical S (S + L) is refused', async (t) => {
  const seed = randomBytes(32);
  const message = randomBytes(32);
  const sig = signWithSeed(seed, message);
  const s = leToBigint(sig.subarray(32));
  const bad = new Uint8Array(sig);
  bad.set(bigintToLe(s + L), 32);
  t.ok(verifyClientSignature(publicKeyFromSeed(seed), message, sig));
  t.notOk(verifyClientSignature(publicKeyFromSeed(seed), message, bad as Signature));
});

t.test('a signature whose R is of small order is refused', async (t) => {
  const seed = randomBytes(32);
  const sig = new Uint8Array(signWithSeed(seed, new Uint8Array(32)));
  sig.set(fromHex(vectors.rejected_pkeys[3]!, 32), 0);
  t.notOk(verifyClientSignature(publicKeyFromSeed(seed), new Uint8Array(32), sig as Signature));
});

t.test('the fast verifier agrees with the strict pure-JS verifier on valid and mutated input', async (t) => {
  let accepted = 0;
  for (let i = 0; i < 40; i++) {
    const seed = randomBytes(32);
    const pkey = publicKeyFromSeed(seed);
    const message = randomBytes(32);
    const sig = signWithSeed(seed, message);
    const candidates: [Uint8Array, Uint8Array, Uint8Array][] = [[pkey, message, sig]];
    const flipped = new Uint8Array(sig);
    flipped[i % 64]! ^= 1 << (i % 8);
    candidates.push([pkey, message, flipped]);
    const otherMessage = new Uint8Array(message);
    otherMessage[0]! ^= 0x80;
    candidates.push([pkey, otherMessage, sig]);
    for (const [k, m, s] of candidates) {
      const fast = verifyClientSignature(k as PublicKey, m, s as Signature);
      const strict = ed.verify(s, m, k, { zip215: false });
      t.equal(fast, strict);
      t.equal(fast, libsodiumAlone(k, m, s));
      if (fast) accepted++;
    }
  }
  t.equal(accepted, 40, 'exactly the unmodified signatures verify');
});

t.test('the backend key signs exactly as @noble/ed25519 does, for any key and message', async (t) => {
  const { BackendKey } = await import('../../src/protocol/index.ts');
  for (let i = 0; i < 60; i++) {
    const seed = randomBytes(32);
    const key = new BackendKey(seed as never);
    const message = randomBytes(i % 3 === 0 ? 32 : i);
    const sig = key.sign(message);
    t.equal(toHex(sig), toHex(ed.sign(message, seed)), `signature ${i}`);
    t.ok(verifyClientSignature(key.publicKey, message, sig));
  }
});
