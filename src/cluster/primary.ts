/**
 * The cluster primary: opens and migrates the database (creating the runtime row on first
 * start), prints the start-up figures, forks the workers and is the only process that prunes.
 * It serves no requests itself.
 */
import type { Config } from '../config.ts';
import { messageOf } from '../error-message.ts';
import { Ledger, openDatabase } from '../ledger/index.ts';
import { collectFigures, renderFigures } from '../operator/figures.ts';
import { processLogger, tellStartFailure } from './log.ts';
import { PruneSchedule } from './prune-schedule.ts';
import { leaveParent, stopSignal } from './shutdown.ts';
import { WorkerPool } from './worker-pool.ts';

export async function runPrimary(config: Config): Promise<number> {
  const log = processLogger(config.logLevel, 'primary');
  const stop = stopSignal(log);

  let ledger: Ledger;
  try {
    ledger = new Ledger(openDatabase(config.db));
  } catch (error) {
    const reason = messageOf(error);
    const message = `cannot open ${config.db.path}: ${reason}`;
    log.fatal({ event: 'database_unavailable', err: error }, message);
    tellStartFailure(message);
    return 1;
  }
  console.log(renderFigures(collectFigures(ledger, config)));

  log.info(
    { event: 'cluster_starting', workers: config.workers, host: config.host, port: config.port },
    `starting ${config.workers} ${config.workers === 1 ? 'worker' : 'workers'} ` +
      `on ${config.host}:${config.port}`,
  );
  // The missed midnight is pruned before any worker serves (unless another process's claim
  // holds it; the timer then retries when that lapses). Later prunes pause between their
  // batches, so the primary keeps handing connections to the workers while one runs.
  const schedule = new PruneSchedule(ledger, log);
  await schedule.start();
  const pool = new WorkerPool(config.workers, log);
  pool.start();

  const ending = await Promise.race([
    stop.then((signal) => ({ kind: 'signal' as const, signal })),
    pool.gaveUp.then((reason) => ({ kind: 'gave_up' as const, reason })),
  ]);
  schedule.stop();
  if (ending.kind === 'gave_up') tellStartFailure(ending.reason);
  if (ending.kind === 'signal') {
    log.info(
      { event: 'shutdown', signal: ending.signal, grace_ms: config.shutdownGraceMs },
      `${ending.signal}: stopping the workers (grace period ${config.shutdownGraceMs} ms)`,
    );
  }
  const clean = await pool.stop(config.shutdownGraceMs);
  ledger.close();

  const code = ending.kind === 'signal' && clean ? 0 : 1;
  log.info({ event: 'stopped', exit_code: code }, `stopped with exit code ${code}`);
  leaveParent();
  return code;
}
