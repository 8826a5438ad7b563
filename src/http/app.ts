/**
 * The Fastify application: the protocol's routes on one ledger. It knows nothing of processes or
 * ports; the entry point (single process or cluster worker) decides where it listens.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { LogLevel } from '../config.ts';
import type { Ledger } from '../ledger/index.ts';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  installErrorHandling,
  refuseConnect,
  refuseExpectation,
  refuseHostless,
} from './errors.ts';
import { addPaymentRoute } from './routes/add-payment.ts';
import { getProofRoute } from './routes/get-proof.ts';
import { getRevocationsRoute } from './routes/get-revocations.ts';
import { healthRoute } from './routes/health.ts';

/** Every JSON route's body limit, as the protocol sets it. */
export const JSON_BODY_LIMIT = 64 * 1024;

/** How long a client may take to send one whole request. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * How often Node looks for requests past their time. Its default, 30 s, would let a request
 * take up to twice REQUEST_TIMEOUT_MS before its 408.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface AppOptions {
  ledger: Ledger;
  logLevel?: LogLevel;
  /** A logger to use instead of making one (for example a test's). */
  logger?: FastifyBaseLogger;
  /** REQUEST_TIMEOUT_MS unless a test needs it shorter. */
  requestTimeoutMs?: number;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { level: options.logLevel ?? 'silent' } }),
    bodyLimit: JSON_BODY_LIMIT,
    // The protocol ignores fields it does not list, and these are such fields: the parser drops
    // them (so no object's prototype can be reached through a body) instead of refusing the body.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // A request must arrive whole within this time; a body trickled in byte by byte would
    // otherwise hold its connection open for ever.
    requestTimeout: requestTimeoutMs,
    http: {
      // Node's default headers timeout, 60 s, is longer; it then swaps the two, and a request
      // whose body trickles in would have 60 s.
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      // Node's own answer to an HTTP/1.1 request without Host is a bare 400; refuseHostless
      // gives the envelope instead.
      requireHostHeader: false,
    },
    // Failures before routing and bytes that are not HTTP get the error envelope too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Two log lines for every request would cost more than some requests do.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's own answer to a request that arrives while closing is not the protocol's
    // envelope; server.ts answers those requests itself.
    return503OnClosing: false,
    ajv: {
      customOptions: {
        // The protocol wants every problem listed, and JSON types as sent ("5" is not 5).
        allErrors: true,
        coerceTypes: false,
        // Lets the error formatter read a field's expected hex length from its schema.
        verbose: true,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON is spoken; a text/plain body gets the clear 415 rather than a confusing type error.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  app.server.on('connect', refuseConnect);
  app.server.on('checkExpectation', refuseExpectation);
  refuseHostless(app);
  // JSON is UTF-8 by definition (RFC 8259); the original service sent the bare type, and onion
  // replies carry this header, so it is sent the same way.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (type === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    done(null, payload);
  });
  const deps = { ledger: options.ledger };
  await app.register(addPaymentRoute, deps);
  await app.register(getProofRoute, deps);
  await app.register(getRevocationsRoute, deps);
  await app.register(healthRoute, deps);
  return app;
}
