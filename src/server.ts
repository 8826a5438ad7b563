/**
 * One serving process: the ledger on its own connection, the Fastify app with the onion route,
 * listening on the configured address. Used by cluster workers and by the single-process mode.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { buildApp } from './http/app.ts';
import { Ledger, openDatabase, systemClock, type Clock } from './ledger/index.ts';
import { onionKeyPairFromSeed } from './onion/keys.ts';
import { onionRoutes } from './onion/route.ts';

export interface Server {
  app: FastifyInstance;
  ledger: Ledger;
}

/**
 * Builds the full application (direct and onion routes) on `ledger`, logging through `logger`
 * when given (the process's own, so every line names its role) or a new one at the config level.
 */
export async function buildServerApp(
  ledger: Ledger,
  config: Pick<Config, 'logLevel'>,
  logger?: FastifyBaseLogger,
) {
  const app = await buildApp({ ledger, logLevel: config.logLevel, ...(logger ? { logger } : {}) });
  const x25519 = onionKeyPairFromSeed(ledger.backendKey.exportSeed());
  await app.register(onionRoutes, { x25519 });
  return app;
}

export async function startServer(
  config: Config,
  logger?: FastifyBaseLogger,
  clock: Clock = systemClock,
): Promise<Server> {
  const ledger = new Ledger(openDatabase(config.db), clock);
  const app = await buildServerApp(ledger, config, logger);
  await app.listen({ host: config.host, port: config.port });
  return { app, ledger };
}
