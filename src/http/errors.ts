/**
 * The protocol's error envelope and the one place that turns every failure into it. Handlers throw
 * RequestError; schema validation, body parsing and unknown routes arrive here as Fastify errors.
 * Nothing about an unexpected error reaches the client beyond "internal error".
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError } from '../ledger/index.ts';
import { errorEnvelope } from '../protocol/envelope.ts';

export { errorEnvelope, type ErrorEnvelope } from '../protocol/envelope.ts';

/** A refusal of the client's request, with one sentence per problem. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: number,
    readonly problems: string[],
  ) {
    super(problems.join('; '));
  }
}

interface SchemaProblem {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  parentSchema?: { pattern?: string; type?: string; const?: unknown };
}

function fieldName(problem: SchemaProblem): string {
  const path = problem.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (problem.keyword === 'required') {
    const missing = String(problem.params.missingProperty);
    return path ? `${path}.${missing}` : missing;
  }
  return path || 'body';
}

function hexLength(schema: SchemaProblem['parentSchema']): number | undefined {
  const match = schema?.pattern?.match(/\{(\d+)\}/);
  return match ? Number(match[1]) : undefined;
}

/** One sentence for one schema problem, naming the field. */
export function describeSchemaProblem(problem: SchemaProblem): string {
  const field = fieldName(problem);
  const hex = hexLength(problem.parentSchema);
  if (hex !== undefined && (problem.keyword === 'type' || problem.keyword === 'pattern')) {
    return `${field} must be ${hex} hex characters (${hex / 2} bytes)`;
  }
  if (problem.keyword !== 'required' && problem.parentSchema?.const !== undefined) {
    return `${field} must be ${JSON.stringify(problem.parentSchema.const)}`;
  }
  switch (problem.keyword) {
    case 'required':
      return `${field} is required`;
    case 'type':
      if (field === 'body') return 'body must be a JSON object';
      return `${field} must be ${problem.params.type === 'integer' ? 'an integer' : `a ${problem.params.type}`}`;
    case 'minimum':
      return `${field} must be at least ${problem.params.limit}`;
    case 'maximum':
      return `${field} must be at most ${problem.params.limit}`;
    default:
      return `${field} ${problem.message ?? 'is not valid'}`;
  }
}

/** Messages for the request-level failures Fastify raises before a handler runs. */
const FASTIFY_FAILURES: Record<string, (error: FastifyError, request: FastifyRequest) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_error, request) => {
    const limit = request.routeOptions?.bodyLimit;
    return limit === undefined
      ? 'body is larger than the limit of this route'
      : `body is larger than this route's limit of ${limit} bytes`;
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'Content-Type must be application/json',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'body is empty; send a JSON object',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'Content-Length does not match the body',
  FST_ERR_BAD_URL: () => 'URL path is not valid: it has a malformed percent-encoding',
};

function problemsOf(error: FastifyError, request: FastifyRequest): string[] {
  if (error.validation) {
    const problems = (error.validation as unknown as SchemaProblem[]).map(describeSchemaProblem);
    return [...new Set(problems)];
  }
  const known = error.code ? FASTIFY_FAILURES[error.code] : undefined;
  if (known) return [known(error, request)];
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return ['body is not valid JSON'];
  }
  return [error.message];
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof RequestError) {
    return reply.code(error.status).send(errorEnvelope(error.status, error.problems));
  }
  if (error instanceof LedgerError) {
    return reply.code(400).send(errorEnvelope(400, [error.message]));
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return reply.code(status).send(errorEnvelope(status, problemsOf(error, request)));
  }
  request.log.error({ event: 'internal_error', err: error }, 'request failed');
  return reply.code(500).send(errorEnvelope(500, ['internal error']));
}

/**
 * For Fastify's `frameworkErrors` option: failures found before routing (a path whose
 * percent-encoding does not decode) would otherwise get Fastify's own JSON, not the envelope.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const status = error.statusCode ?? 500;
  if (status >= 500) request.log.error({ event: 'internal_error', err: error }, 'request failed');
  const problems = status < 500 ? problemsOf(error, request) : ['internal error'];
  // A reply made before routing skips the app's onSend hooks: the bare JSON type they would set
  // is set here, and bytes are sent so that Fastify appends no charset to it.
  const body = Buffer.from(JSON.stringify(errorEnvelope(status, problems)), 'utf8');
  return reply.code(status).type('application/json').send(body);
}

/** What Node's HTTP parser refused, with the status Fastify's default handler gives it. */
const CLIENT_ERRORS: Record<string, { status: number; problem: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, problem: 'request was not received in time' },
  HPE_HEADER_OVERFLOW: { status: 431, problem: 'request headers are too large' },
};
const NOT_HTTP = { status: 400, problem: 'request is not valid HTTP' };

/**
 * For Fastify's `clientErrorHandler` option: bytes Node's HTTP parser refuses never reach a route,
 * so the answer is written to the socket here, in the envelope, and the connection closed.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // The peer is gone: there is no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, problem } = (error.code && CLIENT_ERRORS[error.code]) || NOT_HTTP;
  // The code only: the error also carries the raw bytes received, which are the client's.
  this.log.debug({ event: 'client_error', code: error.code, status }, 'malformed request refused');
  // An earlier pipelined request, received whole, may still have its answer on the way: a 400
  // written now would reach the client first and read as that answer. Let it go out, then close
  // without a 400. (A request cut short is the one at fault, and gets the 400 below.)
  const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (pending && !pending.writableFinished && pending.req.complete) {
    pending.once('finish', () => socket.destroy());
    pending.once('close', () => socket.destroy());
    return;
  }
  if (socket.writable) socket.write(rawEnvelopeResponse(status, problem));
  socket.destroy(error);
}

/** A whole HTTP response carrying the envelope, for a socket no router or reply will answer. */
function rawEnvelopeResponse(status: number, problem: string): string {
  const body = JSON.stringify(errorEnvelope(status, [problem]));
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Content-Type: application/json',
    'Connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Node hands a CONNECT request to the server's 'connect' listeners, never to the router, and
 * with no listener it drops the connection without a word. This server tunnels nothing: the
 * request gets the 404 that any other method gets on a path without a route.
 */
export function refuseConnect(request: IncomingMessage, socket: Duplex): void {
  socket.end(rawEnvelopeResponse(404, `no route CONNECT ${request.url ?? ''}`));
}

/**
 * Node answers an Expect other than 100-continue with a bare 417 unless a 'checkExpectation'
 * listener takes the request. It gets the envelope here; the header's value is not echoed.
 */
export function refuseExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const problem = 'the only Expect header served is 100-continue';
  const body = JSON.stringify(errorEnvelope(417, [problem]));
  // The connection stays open: Node reads past this request's body, and a request pipelined
  // behind it is run and answered as usual.
  response.writeHead(417, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/**
 * HTTP/1.1 requires a Host header, and a request without one is refused (RFC 9112, 3.2) with the
 * envelope, where Node's own check would send an empty 400. HTTP/1.0 needs none.
 */
export function refuseHostless(app: FastifyInstance): void {
  const refusal = errorEnvelope(400, ['the Host header is missing; HTTP/1.1 requires it']);
  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers.host !== undefined || request.raw.httpVersion !== '1.1') return done();
    // The connection stays open, as for any 400, so a request pipelined behind is answered.
    reply.code(400).send(refusal);
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(handleError);

  // Every route's path and methods, to tell a caller who used the wrong method which one a path
  // takes. Limitation: the path is looked up as sent, so a route with a parameter, or a path
  // sent percent-encoded or in absolute form, gets no hint; none of the routes has a parameter,
  // and the hint is a courtesy: the 404 stands either way.
  const methodsByPath = new Map<string, string[]>();
  app.addHook('onRoute', (route) => {
    const methods = methodsByPath.get(route.url) ?? [];
    for (const method of [route.method].flat()) if (method !== 'HEAD') methods.push(method);
    methodsByPath.set(route.url, methods);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const methods = methodsByPath.get(path)?.filter((m) => m !== request.method) ?? [];
    const hint = methods.length > 0 ? `; ${path} takes ${methods.join(' or ')}` : '';
    reply.code(404).send(errorEnvelope(404, [`no route ${request.method} ${path}${hint}`]));
  });
}
