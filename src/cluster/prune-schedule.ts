/**
 * The daily prune's timer. Exactly one process per deployment runs it (the cluster primary, or
 * the single process with an in-memory database); the ledger's prune claim guards against a
 * mistaken second deployment on the same file.
 *
 * The timer wakes at the next UTC midnight, and at least hourly, and prunes for the latest
 * midnight not yet done. Waking hourly also recovers from a clock that jumped. Redemptions and
 * refunds do not wait for it: the ledger brings each subscriber up to the latest midnight first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { DAY_S, latestMidnight, type Ledger, type PruneOutcome } from '../ledger/index.ts';

const MAX_SLEEP_MS = 60 * 60 * 1000;
/** Wake a little after midnight, so that the clock reads the new day. */
const AFTER_MIDNIGHT_MS = 500;
/** Wake a little after another process's claim lapses, so that it has lapsed. */
const AFTER_CLAIM_MS = 1_000;

/**
 * How long the timer sleeps after a tick at `now`: until just after the next midnight, at most an
 * hour, and, when another process held the claim, only until that claim lapses. A claim left by
 * a process that died mid-prune (a crash and restart) is so taken over in minutes, not hours.
 */
export function nextWakeMs(now: number, outcome: PruneOutcome | undefined): number {
  const untilMidnightMs = (latestMidnight(now) + DAY_S - now) * 1000 + AFTER_MIDNIGHT_MS;
  const sleepMs = Math.min(untilMidnightMs, MAX_SLEEP_MS);
  if (outcome?.kind !== 'claimed_elsewhere') return sleepMs;
  return Math.min(sleepMs, Math.max(0, outcome.claimedUntil - now) * 1000 + AFTER_CLAIM_MS);
}

export interface PruneLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * Pause between prune batches. Redemptions on other processes wait in SQLite's busy handler,
 * which polls; back-to-back batches would starve them for the whole prune.
 */
export const PRUNE_BATCH_PAUSE_MS = 5;

/** Runs the prune for `midnight`, pausing between batches; the event loop runs meanwhile. */
export async function pruneWithPauses(
  ledger: Ledger,
  midnight: number,
  pauseMs = PRUNE_BATCH_PAUSE_MS,
): Promise<PruneOutcome> {
  const steps = ledger.pruneSteps(midnight);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await sleep(pauseMs);
  }
}

/** Runs the prune for the latest midnight at or before now, logging what it did. */
export async function pruneLatestMidnight(
  ledger: Ledger,
  log: PruneLog,
): Promise<PruneOutcome> {
  const midnight = latestMidnight(ledger.clock());
  const outcome = await pruneWithPauses(ledger, midnight);
  const at = new Date(midnight * 1000).toISOString();
  if (outcome.kind === 'pruned') {
    const r = outcome.report;
    log.info(
      {
        event: 'prune',
        midnight: at,
        payments_deleted: r.paymentsDeleted,
        hand_overs: r.handOvers,
        subscribers_deleted: r.subscribersDeleted,
        revocations_deleted: r.revocationsDeleted,
      },
      `pruned for ${at}: ${r.paymentsDeleted} payments, ${r.handOvers} hand-overs, ` +
        `${r.subscribersDeleted} subscribers, ${r.revocationsDeleted} revocations`,
    );
  } else if (outcome.kind === 'claimed_elsewhere') {
    const until = new Date(outcome.claimedUntil * 1000).toISOString();
    log.info(
      { event: 'prune_skipped', midnight: at, claimed_until: until },
      `prune for ${at} is being run by another process (its claim runs until ${until})`,
    );
  }
  return outcome;
}

export class PruneSchedule {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly log: PruneLog | FastifyBaseLogger,
  ) {}

  /**
   * Prunes for a missed midnight now, then keeps the timer going until stop(). Resolves once the
   * first prune is done, so that a caller can serve only after it (a redemption before it would
   * stack behind payments that already ran out).
   */
  start(): Promise<void> {
    return this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    let outcome: PruneOutcome | undefined;
    try {
      outcome = await pruneLatestMidnight(this.ledger, this.log);
    } catch (error) {
      // A failed prune is retried at the next wake-up; serving goes on.
      this.log.error({ event: 'prune_failed', err: error }, 'prune failed');
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), nextWakeMs(this.ledger.clock(), outcome));
    // The timer alone never keeps the process alive.
    this.#timer.unref();
  }
}
