/**
 * Process entry (`npm start`). With a database file: a cluster primary that prints the start-up
 * figures, forks the workers and owns the daily prune. With an in-memory database, which
 * processes cannot share: one process that serves and prunes.
 */
import { ConfigError, loadConfig } from './config.ts';
import { printTables } from './cli.ts';
import { isInMemory } from './ledger/index.ts';
import { runSingleProcess } from './cluster/single.ts';
import { runPrimaryOrWorker } from './cluster/index.ts';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (process.argv.includes('--print-tables') || config.printTables) {
    printTables(config, console.log);
    return 0;
  }
  if (isInMemory(config.db)) return runSingleProcess(config);
  return runPrimaryOrWorker(config);
}

process.exitCode = await main();
