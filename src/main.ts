/**
 * Process entry (`npm start`). With a database file: a cluster primary that prints the start-up
 * figures, forks the workers and owns the daily prune. With an in-memory database, which
 * processes cannot share: one process that serves and prunes.
 */
import cluster from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { ConfigError, loadConfig } from './config.ts';
import { runCli } from './cli.ts';
import { isInMemory } from './ledger/index.ts';
import { runSingleProcess } from './cluster/single.ts';
import { runPrimaryOrWorker } from './cluster/index.ts';

/**
 * Why the server cannot listen on `host`, or null. Checked once, in the first process: it would
 * otherwise fail in every worker, one restart after another. The name must resolve, and the
 * address must be this machine's (a trial listen on a free port says so). A port in use is
 * found by the workers' listen, as it may be freed while they back off.
 */
async function hostProblem(host: string): Promise<string | null> {
  const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);
  try {
    await lookup(host);
  } catch (error) {
    return `cannot resolve "${host}" to an address to listen on (${codeOf(error)})`;
  }
  const trial = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      trial.once('error', reject);
      trial.listen({ host, port: 0 }, resolve);
    });
    return null;
  } catch (error) {
    const code = codeOf(error);
    const why = code === 'EADDRNOTAVAIL' ? ': it is not an address of this machine' : '';
    return `cannot listen on "${host}"${why} (${code})`;
  } finally {
    trial.close();
  }
}

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
  const args = process.argv.slice(2);
  const unknown = args.find((arg) => arg !== '--print-tables');
  if (unknown !== undefined || args.length > 1) {
    const problem =
      unknown === undefined ? '--print-tables is given more than once' : `unknown argument "${unknown}"`;
    console.error(`error: ${problem}; the server takes only --print-tables`);
    return 2;
  }
  if (args.length > 0 || config.printTables) return runCli(['--print-tables'], process.env);
  if (cluster.isPrimary) {
    const problem = await hostProblem(config.host);
    if (problem !== null) {
      console.error(`error: SESH_PRO_BACKEND_HOST: ${problem}`);
      return 2;
    }
  }
  if (isInMemory(config.db)) return runSingleProcess(config);
  return runPrimaryOrWorker(config);
}

process.exitCode = await main();
