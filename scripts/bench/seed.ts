/**
 * Seeds a fresh database through the ledger's own code, as real traffic would have filled it:
 * every subscriber witnessed and redeemed one payment, some redeemed a second one (which revokes
 * their first gen index), and the tokens the /add_payment scenario will redeem are witnessed.
 */
import { randomBytes } from 'node:crypto';
import { Ledger, openDatabase, type LedgerStats } from '../../src/ledger/index.ts';
import { fixedBytes, type PaymentToken, type PublicKey } from '../../src/protocol/index.ts';
import { onionKeyPairFromSeed, type X25519PublicKey } from '../../src/onion/keys.ts';
import type { ClientKey } from './client-keys.ts';

/** Days each seeded payment lasts: long enough that no expiry falls inside the run. */
const SEED_DURATION_DAYS = 30;

export interface SeedPlan {
  subscribers: ClientKey[];
  /** The first `renewals` subscribers redeem a second payment, each adding one revocation. */
  renewals: number;
  /** Witnessed but not redeemed, for the /add_payment scenario. */
  witnessedTokens: number;
}

export interface SeededDatabase {
  stats: LedgerStats;
  backendPkey: PublicKey;
  onionPublicKey: X25519PublicKey;
  witnessedTokens: PaymentToken[];
  seconds: number;
}

function randomToken(): PaymentToken {
  return fixedBytes(randomBytes(32), 32);
}

function redeemFresh(ledger: Ledger, key: ClientKey): void {
  const token = randomToken();
  ledger.witness(token, SEED_DURATION_DAYS);
  ledger.redeem(key.publicKey, token);
}

export function seedDatabase(path: string, plan: SeedPlan): SeededDatabase {
  const started = performance.now();
  const ledger = new Ledger(openDatabase({ path, isUri: false }));
  try {
    const witnessedTokens = Array.from({ length: plan.witnessedTokens }, randomToken);
    // One outer transaction: the ledger's own transactions nest inside it as savepoints, so the
    // seed costs one fsync instead of tens of thousands.
    ledger.db.transaction(() => {
      for (const key of plan.subscribers) redeemFresh(ledger, key);
      for (const key of plan.subscribers.slice(0, plan.renewals)) redeemFresh(ledger, key);
      for (const token of witnessedTokens) ledger.witness(token, SEED_DURATION_DAYS);
    }).immediate();

    return {
      stats: ledger.stats(),
      backendPkey: ledger.backendKey.publicKey,
      onionPublicKey: onionKeyPairFromSeed(ledger.backendKey.exportSeed()).publicKey,
      witnessedTokens,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    ledger.close();
  }
}
