/**
 * Runs one prune on a database file in a process of its own, as the cluster primary does (with
 * pauses between batches) while workers serve, and reports on stdout as JSON lines:
 * `prune_started`, then `prune_done` with the outcome and how long the prune took.
 *
 *   node --import tsx test/support/prune-once.ts <database path> <midnight unix seconds>
 */
import { pruneWithPauses } from '../../src/cluster/prune-schedule.ts';
import { Ledger, openDatabase } from '../../src/ledger/index.ts';

const [path, midnightText] = process.argv.slice(2);
if (path === undefined || midnightText === undefined || !/^\d+$/.test(midnightText)) {
  console.error('usage: prune-once.ts <database path> <midnight unix seconds>');
  process.exit(2);
}

const ledger = new Ledger(openDatabase({ path, isUri: false }));
console.log(JSON.stringify({ event: 'prune_started', at_ms: Date.now() }));
const started = performance.now();
const outcome = await pruneWithPauses(ledger, Number(midnightText));
const durationMs = performance.now() - started;
console.log(
  JSON.stringify({ event: 'prune_done', at_ms: Date.now(), duration_ms: durationMs, outcome }),
);
ledger.close();
