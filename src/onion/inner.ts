/**
 * The plaintext inside an onion envelope. A request is a bencoded list of a JSON meta object
 * `{"method", "endpoint", "headers"}` and an optional body; a reply is a list of
 * `{"code", "headers"}` and the body.
 */
import { BencodeError, decodeOneOrTwoStrings, encodeByteStringList } from './bencode.ts';
import { errorEnvelope } from '../protocol/envelope.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export type InnerMethod = (typeof METHODS)[number];

export interface InnerRequest {
  readonly method: InnerMethod;
  readonly endpoint: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | undefined;
}

export interface InnerReply {
  readonly code: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** A decrypted payload (request or reply) that is not valid; one sentence per problem. */
export class OnionPayloadError extends Error {
  override name = 'OnionPayloadError';

  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

// Printable ASCII without spaces: anything else is not a path the router could match. Nor a
// backslash: URL parsing reads it as "/", so "/\host/x" would name a host, not a path, and the
// in-process dispatch could not even build the request.
const ENDPOINT_RE = /^\/[\x21-\x5b\x5d-\x7e]*$/;
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_RE = /^[^\r\n\0]*$/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeInnerRequest(plaintext: Uint8Array): InnerRequest {
  const [metaBytes, body] = decodeList(plaintext);
  const meta = decodeJsonObject(metaBytes, 'request meta');

  const problems: string[] = [];
  const method = checkMethod(meta['method'], problems);
  const endpoint = checkEndpoint(meta['endpoint'], problems);
  const headers = checkHeaders(meta['headers'], problems);
  if (problems.length > 0) throw new OnionPayloadError(problems);

  return { method, endpoint, headers, body };
}

function decodeList(plaintext: Uint8Array): [Uint8Array, Uint8Array | undefined] {
  try {
    const [meta, body] = decodeOneOrTwoStrings(plaintext);
    return [meta, body];
  } catch (error) {
    if (!(error instanceof BencodeError)) throw error;
    const problem = `payload must be a bencoded list of one or two strings (${error.message})`;
    throw new OnionPayloadError([problem]);
  }
}

function decodeJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new OnionPayloadError([`${what} is not valid JSON`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OnionPayloadError([`${what} is not a JSON object`]);
  }
  return value as Record<string, unknown>;
}

function checkMethod(value: unknown, problems: string[]): InnerMethod {
  const method = METHODS.find((known) => known === value);
  if (method !== undefined) return method;
  problems.push(`method must be one of ${METHODS.join(', ')}`);
  return 'GET';
}

/**
 * The in-process dispatch parses the endpoint as a URL, which resolves "." and ".." segments
 * (%2e too) and percent-encodes some characters, while a direct request's path is routed as
 * sent. So an endpoint must already be in the form URL parsing gives it: then the inner request
 * reaches exactly the route that the same path sent directly reaches.
 */
function isNormalPath(endpoint: string): boolean {
  const base = 'http://localhost';
  // "//name/x" reads as a host and a path, and may not even parse.
  return URL.canParse(endpoint, base) && new URL(endpoint, base).href === base + endpoint;
}

function checkEndpoint(value: unknown, problems: string[]): string {
  if (typeof value !== 'string' || !ENDPOINT_RE.test(value)) {
    problems.push('endpoint must be a path starting with "/"');
  } else if (!isNormalPath(value)) {
    problems.push('endpoint must be a path without "." or ".." segments or characters to escape');
  } else {
    return value;
  }
  return '';
}

/** Absent headers are no headers; names are lower-cased as HTTP/2 and Node do. */
function checkHeaders(value: unknown, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('headers must be a JSON object');
    return {};
  }

  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(value)) {
    if (!HEADER_NAME_RE.test(name)) {
      problems.push('headers has a name that is not a valid HTTP header name');
    } else if (typeof headerValue !== 'string' || !HEADER_VALUE_RE.test(headerValue)) {
      problems.push(`headers.${name} must be a string without line breaks`);
    } else {
      headers[name.toLowerCase()] = headerValue;
    }
  }
  return headers;
}

export function encodeInnerReply(reply: InnerReply): Uint8Array {
  const meta = JSON.stringify({ code: reply.code, headers: reply.headers });
  return encodeByteStringList([Buffer.from(meta, 'utf8'), reply.body]);
}

/** The reply the server sends for an inner request it refuses before dispatching it. */
export function innerErrorReply(status: number, problems: string[]): InnerReply {
  const body = Buffer.from(JSON.stringify(errorEnvelope(status, problems)), 'utf8');
  return { code: status, headers: { 'content-type': 'application/json' }, body };
}

/** The client's side: the request plaintext, meta keys in the order Session clients send. */
export function encodeInnerRequest(request: InnerRequest): Uint8Array {
  const { method, endpoint, headers } = request;
  const meta = Buffer.from(JSON.stringify({ method, endpoint, headers }), 'utf8');
  return encodeByteStringList(request.body === undefined ? [meta] : [meta, request.body]);
}

/** The client's side: a decrypted reply back to its code, headers and body. */
export function decodeInnerReply(plaintext: Uint8Array): InnerReply {
  const [metaBytes, body] = decodeList(plaintext);
  const meta = decodeJsonObject(metaBytes, 'reply meta');
  const { code, headers } = meta;
  if (!Number.isInteger(code)) throw new OnionPayloadError(['reply code must be an integer']);
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new OnionPayloadError(['reply headers must be a JSON object']);
  }
  return {
    code: code as number,
    headers: headers as Record<string, string>,
    body: body ?? new Uint8Array(0),
  };
}
