/**
 * One process that serves and prunes, for an in-memory database: processes cannot share one, so
 * there is no primary and no worker.
 */
import type { Config } from '../config.ts';
import { messageOf } from '../error-message.ts';
import { Ledger, openDatabase } from '../ledger/index.ts';
import { collectFigures, renderFigures } from '../operator/figures.ts';
import { buildServerApp } from '../server.ts';
import { processLogger, tellStartFailure } from './log.ts';
import { PruneSchedule } from './prune-schedule.ts';
import { closeServer, leaveParent, stopSignal } from './shutdown.ts';

export const SINGLE_PROCESS_NOTICE =
  'in-memory database: running as a single process that serves and prunes';

export async function runSingleProcess(config: Config): Promise<number> {
  const log = processLogger(config.logLevel, 'single');
  const stop = stopSignal(log);

  console.log(SINGLE_PROCESS_NOTICE);
  const ledger = new Ledger(openDatabase(config.db));
  console.log(renderFigures(collectFigures(ledger, config)));

  const schedule = new PruneSchedule(ledger, log);
  await schedule.start();
  const app = await buildServerApp(ledger, config, log);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    const reason = messageOf(error);
    log.fatal({ event: 'start_failed', err: error }, `cannot listen: ${reason}`);
    tellStartFailure(`cannot listen: ${reason}`);
    schedule.stop();
    await app.close();
    ledger.close();
    return 1;
  }

  const signal = await stop;
  schedule.stop();
  log.info(
    { event: 'shutdown', signal, grace_ms: config.shutdownGraceMs },
    `${signal}: finishing requests in flight (grace period ${config.shutdownGraceMs} ms)`,
  );
  const code = await closeServer({ app, ledger }, config.shutdownGraceMs, log);
  log.info({ event: 'stopped', exit_code: code }, `stopped with exit code ${code}`);
  leaveParent();
  return code;
}
