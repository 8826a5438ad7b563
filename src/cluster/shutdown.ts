/**
 * Stopping on SIGINT and SIGTERM. In a terminal, Ctrl-C signals the whole process group, so the
 * primary and every worker each receive it, and the primary asks each worker to stop as well:
 * each process treats the first request to stop as the one, and ignores the rest.
 */
import type { Logger } from 'pino';
import type { Server } from '../server.ts';

/** How often a closing server closes the keep-alive connections that have turned idle. */
const SWEEP_MS = 100;

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Resolves at the first SIGINT or SIGTERM. The handlers stay installed, so a later signal does
 * not kill the process half way through its shutdown.
 */
export function stopSignal(log: Logger): Promise<StopSignal> {
  return new Promise((resolve) => {
    let first: StopSignal | undefined;
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        if (first) {
          log.debug({ event: 'signal_ignored', signal }, `${signal} ignored: already stopping`);
          return;
        }
        first = signal;
        resolve(signal);
      });
    }
  });
}

/**
 * Stops accepting connections, lets requests in flight finish, then closes the database.
 * Returns the exit code: 0, or 1 when requests were still running after `graceMs` and their
 * connections had to be cut. `sweepMs` is how often idle keep-alive connections are closed
 * meanwhile (a test sets it).
 */
export async function closeServer(
  server: Server,
  graceMs: number,
  log: Logger,
  sweepMs = SWEEP_MS,
): Promise<number> {
  const http = server.app.server;
  let timedOut = false;
  const deadline = setTimeout(() => {
    // A connection whose request has finished since the last sweep is idle, not in flight:
    // close those first, and cut off only what is still open after that.
    http.closeIdleConnections();
    http.getConnections((error, open) => {
      if (!error && open === 0) return;
      timedOut = true;
      log.error(
        { event: 'shutdown_timeout', grace_ms: graceMs },
        `requests still in flight after ${graceMs} ms: cutting their connections`,
      );
      http.closeAllConnections();
    });
  }, graceMs);
  deadline.unref();

  // Fastify stops listening and closes idle keep-alive connections; a request that arrives
  // meanwhile is refused with a 503 (server.ts). close() resolves when the last connection has
  // ended. A connection whose request finishes meanwhile turns idle but stays open for
  // keep-alive: sweep those too.
  const sweep = setInterval(() => http.closeIdleConnections(), sweepMs);
  sweep.unref();
  await server.app.close();
  clearInterval(sweep);
  clearTimeout(deadline);
  server.ledger.close();
  return timedOut ? 1 : 0;
}

/**
 * Closes the channel a process manager (pm2) keeps to this process, which would otherwise hold
 * it open after everything it opened is closed.
 */
export function leaveParent(): void {
  if (process.connected) process.disconnect();
}
