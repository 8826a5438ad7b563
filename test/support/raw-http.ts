/**
 * Raw bytes to a listening server over one TCP connection, and whatever comes back: for requests
 * no HTTP client would send (broken framing, bad header bytes, chunked garbage).
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  /** Every complete response read, in order (1xx included). */
  responses: RawResponse[];
  /** Bytes after the last complete response (a response the parser could not frame). */
  leftover: Buffer;
  /** The server closed the connection (or reset it) before the timeout. */
  closed: boolean;
  /** Neither closed nor answered in time. */
  timedOut: boolean;
}

/**
 * Writes `bytes`, then half-closes (unless `keepOpen`), and reads until the server closes the
 * connection or `timeoutMs` passes.
 */
export function rawExchange(
  port: number,
  bytes: Buffer,
  options: { keepOpen?: boolean; timeoutMs?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    let settled = false;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const { responses, leftover } = parseResponses(Buffer.concat(chunks));
      resolve({ responses, leftover, closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), options.timeoutMs ?? 5_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => finish(true, false));
    // A reset is a close as far as the client can tell.
    socket.on('error', () => finish(true, false));
    socket.on('connect', () => {
      socket.write(bytes, () => {
        if (!options.keepOpen) socket.end();
      });
    });
  });
}

/** Splits a byte stream into HTTP/1.1 responses framed by Content-Length or chunked coding. */
export function parseResponses(data: Buffer): { responses: RawResponse[]; leftover: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const head = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
    if (!match) break;
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(match[1]);
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf('\r\n', bodyStart);
        if (lineEnd === -1) return { responses, leftover: data.subarray(at) };
        const size = Number.parseInt(data.subarray(bodyStart, lineEnd).toString('latin1'), 16);
        bodyStart = lineEnd + 2 + size + 2;
        if (size === 0) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (bodyStart + length > data.length) break;
      body = data.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    }
    responses.push({ status, headers, body });
    at = bodyStart;
  }
  return { responses, leftover: data.subarray(at) };
}
