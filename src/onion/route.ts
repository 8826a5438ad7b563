/**
 * POST /oxen/v4/lsrpc: a v4 onion request. The server opens the envelope, runs the inner
 * request against its own routes in process, and answers 200 with the inner reply encrypted
 * under the same key and cipher. An envelope that cannot be opened gets a plain 400.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import injectInto from 'light-my-request';
import { encrypt, openEnvelope, OnionEnvelopeError } from './envelope.ts';
import { errorEnvelope } from '../protocol/envelope.ts';
import {
  decodeInnerRequest,
  encodeInnerReply,
  innerErrorReply,
  OnionPayloadError,
  type InnerReply,
  type InnerRequest,
} from './inner.ts';
import type { X25519KeyPair } from './keys.ts';

export const ONION_PATH = '/oxen/v4/lsrpc';

export const ONION_BODY_LIMIT = 1024 * 1024;

export interface OnionRouteOptions {
  /** The server's onion key pair, from onionKeyPairFromSeed(backend key seed). */
  x25519: X25519KeyPair;
}

/**
 * Set on every inner request this route dispatches. Whatever spelling of the path an inner
 * request uses to reach this route again, the mark gives it away, so onions never nest.
 */
const INNER_MARK = 'x-session-pro-onion-inner';

/** The mark's value: new in each process, so that no client can pass for an inner request. */
const INNER_MARK_VALUE = randomBytes(16).toString('hex');

/**
 * Whether a request is one this route dispatched in process (a closing server, server.ts, lets
 * those run: they belong to an onion request in flight). A client's own copy of the header,
 * whatever its value, does not count.
 */
export function isInnerRequest(headers: IncomingHttpHeaders): boolean {
  return headers[INNER_MARK] === INNER_MARK_VALUE;
}

// Headers about the HTTP hop rather than the reply; the vectors' replies carry none of them.
const HOP_HEADERS = new Set([
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'date',
]);

// Set by inject itself, meaningless in process, or ours alone to set.
const UNFORWARDED_HEADERS = new Set([
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  INNER_MARK,
]);

/** Register with `app.register(onionRoutes, { x25519 })`; it keeps its own body parsing. */
export const onionRoutes: FastifyPluginAsync<OnionRouteOptions> = async (app, { x25519 }) => {
  // Envelopes are binary whatever Content-Type the onion network's last hop sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler(onionErrorHandler);

  const routeOptions = { bodyLimit: ONION_BODY_LIMIT, onRequest: envelopeIsBinary };
  app.post(ONION_PATH, routeOptions, async (request, reply) => {
    if (request.headers[INNER_MARK] !== undefined) {
      return reply.code(400).send(errorEnvelope(400, ['onion requests cannot be nested']));
    }

    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let opened;
    try {
      opened = openEnvelope(body, x25519);
    } catch (error) {
      if (!(error instanceof OnionEnvelopeError)) throw error;
      request.log.info({ event: 'onion_refused', reason: error.message });
      return reply.code(400).send(errorEnvelope(400, [error.message]));
    }

    const innerReply = await runInnerRequest(app, opened.plaintext);
    reply.type('application/octet-stream');
    return encrypt(opened.cipher, opened.key, encodeInnerReply(innerReply));
  });
};

/**
 * The envelope is bytes whatever the last hop called it. Fastify refuses a Content-Type that is
 * not a valid media type ("", "binary", a list) with a 415 before any parser runs, so the header
 * is set to one that is valid before it looks.
 */
function envelopeIsBinary(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  if (request.raw.headers['content-type'] !== undefined) {
    request.raw.headers['content-type'] = 'application/octet-stream';
  }
  done();
}

/** Decodes the decrypted payload and runs it; a payload that is not a request gets a 400. */
async function runInnerRequest(app: FastifyInstance, plaintext: Uint8Array): Promise<InnerReply> {
  let inner: InnerRequest;
  try {
    inner = decodeInnerRequest(plaintext);
  } catch (error) {
    if (!(error instanceof OnionPayloadError)) throw error;
    return innerErrorReply(400, error.problems);
  }
  return dispatch(app, inner);
}

/**
 * Runs the inner request through the whole app (routes, hooks, not-found handler), in process.
 * It goes to the app's router (`app.routing`) rather than through `app.inject`, which refuses
 * every request once the app has begun to close: an onion request still in flight during a
 * shutdown must be answered like any other. Injection only rejects a request it cannot build,
 * which decodeInnerRequest's checks rule out; a rejection would be a bug and reaches the app's
 * error handler as a 500.
 */
async function dispatch(app: FastifyInstance, inner: InnerRequest): Promise<InnerReply> {
  const response = await injectInto(app.routing, {
    method: inner.method,
    url: inner.endpoint,
    headers: { ...forwardedHeaders(inner.headers), [INNER_MARK]: INNER_MARK_VALUE },
    ...(inner.body === undefined ? {} : { payload: Buffer.from(inner.body) }),
  });
  return {
    code: response.statusCode,
    headers: replyHeaders(response.headers),
    body: response.rawPayload,
  };
}

function forwardedHeaders(headers: Record<string, string>): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!UNFORWARDED_HEADERS.has(name)) forwarded[name] = value;
  }
  return forwarded;
}

function replyHeaders(
  headers: Record<string, string | string[] | number | undefined>,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lowerName = name.toLowerCase();
    if (value === undefined || HOP_HEADERS.has(lowerName)) continue;
    kept[lowerName] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return kept;
}

/** Body limit and body-reading failures, in the protocol's envelope; the rest go upwards. */
function onionErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode ?? 500;
  if (status === 413) {
    const problem = `onion request body is larger than the limit of ${ONION_BODY_LIMIT} bytes`;
    return reply.code(413).send(errorEnvelope(413, [problem]));
  }
  if (status >= 400 && status < 500) {
    return reply.code(status).send(errorEnvelope(status, ['onion request body could not be read']));
  }
  throw error;
}
