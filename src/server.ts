/**
 * One serving process: the ledger on its own connection, the Fastify app with the onion route,
 * listening on the configured address. Used by cluster workers and by the single-process mode.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { buildApp } from './http/app.ts';
import { Ledger, openDatabase, systemClock, type Clock } from './ledger/index.ts';
import { onionKeyPairFromSeed } from './onion/keys.ts';
import { isInnerRequest, onionRoutes } from './onion/route.ts';
import { errorEnvelope } from './protocol/envelope.ts';

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
  refuseRequestsWhileClosing(app);
  const x25519 = onionKeyPairFromSeed(ledger.backendKey.exportSeed());
  await app.register(onionRoutes, { x25519 });
  return app;
}

/** The answer to a request that reaches a closing server: it was not run, so it can be resent. */
export const CLOSING_REFUSAL = errorEnvelope(503, [
  'the server is shutting down and did not run this request; send it again',
]);

/**
 * Once the app begins to close, requests already running finish, and so do the inner requests
 * that an onion request in flight dispatches. A new request that arrives meanwhile over a
 * keep-alive connection is not run: it gets CLOSING_REFUSAL and the connection is closed, so the
 * client reconnects (to the next server, under a process manager). Running it instead could not
 * be answered safely: a reply that closes the connection loses the replies to requests pipelined
 * behind it, though their handlers would have run.
 */
function refuseRequestsWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing || isInnerRequest(request.headers)) return done();
    request.log.info({ event: 'refused_while_closing' }, 'refused a request: shutting down');
    reply.code(503).header('connection', 'close').send(CLOSING_REFUSAL);
  });
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
