import Database from 'better-sqlite3';
import t from 'tap';
import { Ledger } from '../../src/ledger/index.ts';
import { genIndexHash, toHex, type Salt } from '../../src/protocol/index.ts';
import { vectors } from '../support/vectors.ts';
import { buy, D, H, M0, masterKey, memoryLedger, paymentToken } from './helpers.ts';

const VECTOR_SALT = vectors.gen_index_hash[0]!.salt;
const VECTOR_HASHES = new Map(vectors.gen_index_hash.map((v) => [v.gen_index, v.gen_index_hash]));

t.test('a master key with no subscriber row has no entitlement', async (t) => {
  const { ledger } = memoryLedger();
  buy(ledger, masterKey(1), paymentToken(1), 30);

  t.equal(ledger.subscriber(masterKey(2)), undefined);
});

t.test("a subscriber's entitlement is its current gen index, its hash and expiry", async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  at(M0 + 2 * D);
  buy(ledger, masterKey(2), paymentToken(2), 7);
  buy(ledger, masterKey(1), paymentToken(3), 7);

  // Subscriber 1: M0 + D + (30 + 7) D + D under gen index 2; subscriber 2: M0 + 2 D + 7 D + D.
  t.same(ledger.subscriber(masterKey(1)), {
    genIndex: 2,
    genIndexHash: genIndexHash(2, ledger.salt),
    expiryUnixTsS: M0 + 39 * D,
  });
  t.same(ledger.subscriber(masterKey(2)), {
    genIndex: 1,
    genIndexHash: genIndexHash(1, ledger.salt),
    expiryUnixTsS: M0 + 10 * D,
  });
});

t.test('the revocation list is in ascending gen index order with salted hashes', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30); // gen 0, expiry M0 + 32 D
  buy(ledger, masterKey(2), paymentToken(2), 7); // gen 1, expiry M0 + 9 D
  at(M0 + D + H);
  buy(ledger, masterKey(2), paymentToken(3), 7); // gen 2 (expiry M0 + 16 D): revokes gen 1 first
  buy(ledger, masterKey(1), paymentToken(4), 30); // gen 3 (expiry M0 + 62 D): revokes gen 0

  const snapshot = ledger.revocations();

  t.equal(snapshot.ticket, 2);
  t.same(
    snapshot.list.map((r) => [toHex(r.genIndexHash), r.expiryUnixTsS]),
    [
      [toHex(genIndexHash(0, ledger.salt)), M0 + 32 * D],
      [toHex(genIndexHash(1, ledger.salt)), M0 + 9 * D],
    ],
  );
  const unsalted = genIndexHash(0, new Uint8Array(16) as Salt);
  t.not(toHex(ledger.genIndexHash(0)), toHex(unsalted), 'the hash is salted');
});

t.test('an empty ledger has ticket 0 and no revocations', async (t) => {
  const { ledger } = memoryLedger();

  t.same(ledger.revocations(), { ticket: 0, list: [] });
});

t.test('the ledger hashes gen indexes with its salt byte for byte as the vectors do', async (t) => {
  const db = new Database(':memory:');
  new Ledger(db);
  db.prepare('UPDATE runtime SET salt = ? WHERE id = 0').run(Buffer.from(VECTOR_SALT, 'hex'));
  let now = M0 + H;
  const ledger = new Ledger(db, () => now);

  t.equal(toHex(ledger.salt), VECTOR_SALT);
  for (const [genIndex, hash] of VECTOR_HASHES) {
    t.equal(toHex(ledger.genIndexHash(genIndex)), hash, `gen index ${genIndex}`);
  }

  // Three redemptions by one subscriber revoke gen indexes 0 and 1 with the vectors' hashes.
  buy(ledger, masterKey(1), paymentToken(1), 1);
  now += D;
  buy(ledger, masterKey(1), paymentToken(2), 1);
  buy(ledger, masterKey(1), paymentToken(3), 1);
  t.same(
    ledger.revocations().list.map((r) => toHex(r.genIndexHash)),
    [VECTOR_HASHES.get(0), VECTOR_HASHES.get(1)],
  );
  t.equal(toHex(ledger.subscriber(masterKey(1))!.genIndexHash), VECTOR_HASHES.get(2));
});
