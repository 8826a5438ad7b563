/**
 * The protocol's error envelope and the one place that turns every failure into it. Handlers throw
 * RequestError; schema validation, body parsing and unknown routes arrive here as Fastify errors.
 * Nothing about an unexpected error reaches the client beyond "internal error".
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError } from '../ledger/index.ts';

export interface ErrorEnvelope {
  msg: string[];
  status: number;
}

export function errorEnvelope(status: number, msg: string[]): ErrorEnvelope {
  return { msg, status };
}

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
const FASTIFY_FAILURES: Record<string, (error: FastifyError) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'body is larger than the limit of this route',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'Content-Type must be application/json',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'body is empty; send a JSON object',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'Content-Length does not match the body',
};

function problemsOf(error: FastifyError): string[] {
  if (error.validation) {
    const problems = (error.validation as unknown as SchemaProblem[]).map(describeSchemaProblem);
    return [...new Set(problems)];
  }
  const known = error.code ? FASTIFY_FAILURES[error.code] : undefined;
  if (known) return [known(error)];
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return ['body is not valid JSON'];
  }
  return [error.message];
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof RequestError) {
      return reply.code(error.status).send(errorEnvelope(error.status, error.problems));
    }
    if (error instanceof LedgerError) {
      return reply.code(400).send(errorEnvelope(400, [error.message]));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorEnvelope(status, problemsOf(error)));
    }
    request.log.error({ event: 'internal_error', err: error }, 'request failed');
    return reply.code(500).send(errorEnvelope(500, ['internal error']));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    reply.code(404).send(errorEnvelope(404, [`no route ${request.method} ${path}`]));
  });
}
