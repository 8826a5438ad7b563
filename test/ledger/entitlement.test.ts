import Database from 'better-sqlite3';
import t from 'tap';
import { Ledger } from '../../src/ledger/index.ts';
import { genIndexHash, toHex, type Salt } from '../../src/protocol/index.ts';
import { buy, D, H, M0, masterKey, memoryLedger, paymentToken } from './helpers.ts';

/** From the `gen_index_hash` vectors beside PROTOCOL.md: all share this salt. */
const VECTOR_SALT = 'd96f524507af7f477a2dd4757b1e7207';
const VECTOR_HASHES = new Map([
  [0, '8a54559e199772dcd115ee3395789447f6167924cb3c0d23d290fc2fa251a540'],
  [1, 'cc3fa288a08e5f6868bfdd9f2c5edbca6587f73e0d87e61c6bc16f90d32323fe'],
  [2, '8fd48f5d36f457ea1b77b236a8d84dbebfe2d0cc7f02615f2732a5c5caa8c06d'],
  [256, '30872b1a7d887ce999119e71db1a6e87e29409d90df83116d52a3dac4eae1efa'],
  [65537, 'e759aac0164367ec8ce4ea01fe282eeb42fef2ec6a187090fcfce7f26d60f4a8'],
]);

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
