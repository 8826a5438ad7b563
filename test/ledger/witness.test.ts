import t from 'tap';
import { MAX_DURATION_DAYS } from '../../src/ledger/index.ts';
import { toHex } from '../../src/protocol/index.ts';
import {
  D,
  H,
  M0,
  everything,
  masterKey,
  memoryLedger,
  paymentRows,
  paymentToken,
  unredeemedRows,
} from './helpers.ts';

t.test('a witnessed token waits unredeemed with its duration in seconds', async (t) => {
  const { ledger } = memoryLedger();

  ledger.witness(paymentToken(1), 30);

  t.same(unredeemedRows(ledger), [[toHex(paymentToken(1)), 30 * D]]);
  t.same(paymentRows(ledger), []);
});

t.test('a witnessed token cannot be witnessed again', async (t) => {
  const { ledger } = memoryLedger();
  ledger.witness(paymentToken(1), 30);

  t.throws(() => ledger.witness(paymentToken(1), 7), {
    name: 'LedgerError',
    code: 'token_witnessed',
  });
  t.same(unredeemedRows(ledger), [[toHex(paymentToken(1)), 30 * D]], 'the first duration stays');
});

t.test('a redeemed token cannot be witnessed again', async (t) => {
  const { ledger } = memoryLedger();
  ledger.witness(paymentToken(1), 30);
  ledger.redeem(masterKey(1), paymentToken(1));
  const before = everything(ledger);

  t.throws(() => ledger.witness(paymentToken(1), 30), {
    name: 'LedgerError',
    code: 'token_redeemed',
  });
  t.same(everything(ledger), before);
});

t.test('a token whose payment ran out and was pruned stays spent', async (t) => {
  const { ledger, at } = memoryLedger();
  ledger.witness(paymentToken(1), 30);
  ledger.redeem(masterKey(1), paymentToken(1));
  at(M0 + 32 * D + H);
  ledger.prune(M0 + 32 * D);
  t.same(paymentRows(ledger), [], 'the payment itself is pruned');
  const before = everything(ledger);

  t.throws(() => ledger.witness(paymentToken(1), 30), {
    name: 'LedgerError',
    code: 'token_redeemed',
  });
  t.throws(() => ledger.redeem(masterKey(2), paymentToken(1)), {
    code: 'token_redeemed',
    message: 'payment_token was already redeemed',
  });
  t.same(everything(ledger), before);
});

t.test('a duration that is not a whole number of days above zero is refused', async (t) => {
  const { ledger } = memoryLedger();

  for (const days of [0, -1, 1.5, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => ledger.witness(paymentToken(1), days), { code: 'bad_duration' }, `${days} days`);
  }
  t.same(unredeemedRows(ledger), []);
});

t.test(`durations from 1 to ${MAX_DURATION_DAYS} days are taken, longer refused`, async (t) => {
  const { ledger } = memoryLedger();

  t.throws(() => ledger.witness(paymentToken(1), MAX_DURATION_DAYS + 1), { code: 'bad_duration' });
  ledger.witness(paymentToken(2), 1);
  ledger.witness(paymentToken(3), MAX_DURATION_DAYS);

  t.same(unredeemedRows(ledger), [
    [toHex(paymentToken(2)), D],
    [toHex(paymentToken(3)), MAX_DURATION_DAYS * D],
  ]);
});
