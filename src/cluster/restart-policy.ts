/**
 * When the primary restarts a worker that died. Each worker slot backs off on its own (100 ms,
 * doubling to 10 s, forgotten once a worker has served for a minute); workers that die before
 * they ever listen stop the cluster after a few in a row, since restarting cannot fix what makes
 * them fail (a port in use, a database that cannot be opened).
 */

export const FIRST_RESTART_DELAY_MS = 100;
export const MAX_RESTART_DELAY_MS = 10_000;

/** A worker that served this long before dying restarts without delay history. */
export const STABLE_UPTIME_MS = 60_000;

/** Start-up failures in a row, across all slots, after which the cluster gives up. */
export const MAX_START_FAILURES = 5;

export interface WorkerEnd {
  /** The worker's slot, 0 to workers - 1: its replacement takes the same slot. */
  slot: number;
  /** When the worker started listening, or undefined when it never did. */
  listeningSinceMs: number | undefined;
  /** When it died. */
  atMs: number;
}

export type RestartDecision =
  | { kind: 'restart'; delayMs: number }
  | { kind: 'give_up'; failures: number };

export class RestartPolicy {
  readonly #backoffSteps = new Map<number, number>();
  #startFailures = 0;

  /** A worker is serving: start-up works, so earlier start failures no longer count. */
  listening(): void {
    this.#startFailures = 0;
  }

  died(end: WorkerEnd): RestartDecision {
    if (end.listeningSinceMs === undefined) {
      this.#startFailures++;
      if (this.#startFailures >= MAX_START_FAILURES) {
        return { kind: 'give_up', failures: this.#startFailures };
      }
    } else if (end.atMs - end.listeningSinceMs >= STABLE_UPTIME_MS) {
      this.#backoffSteps.delete(end.slot);
    }

    const steps = this.#backoffSteps.get(end.slot) ?? 0;
    this.#backoffSteps.set(end.slot, steps + 1);
    const delayMs = Math.min(FIRST_RESTART_DELAY_MS * 2 ** steps, MAX_RESTART_DELAY_MS);
    return { kind: 'restart', delayMs };
  }
}
