/**
 * A cluster worker: its own connection to the database and a Fastify server on the port every
 * worker shares. It serves requests and never prunes. It stops when the primary asks it to, or at
 * SIGINT or SIGTERM (a terminal's Ctrl-C, pm2, the primary while the worker is starting).
 */
import cluster from 'node:cluster';
import type { Config } from '../config.ts';
import { messageOf } from '../error-message.ts';
import { startServer, type Server } from '../server.ts';
import { processLogger } from './log.ts';
import { closeServer, STOP_SIGNALS, stopSignal, type StopSignal } from './shutdown.ts';

/** What a worker that cannot start tells the primary before it exits, for the primary's log. */
export interface StartFailedMessage {
  kind: 'start_failed';
  error: string;
}

/** A message's `kind`, when it is an object that has one. */
function kindOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null
    ? (message as { kind?: unknown }).kind
    : undefined;
}

export function isStartFailedMessage(message: unknown): message is StartFailedMessage {
  return (
    kindOf(message) === 'start_failed' &&
    typeof (message as { error?: unknown }).error === 'string'
  );
}

/**
 * What a worker that was itself sent SIGINT or SIGTERM tells the primary before it stops (pm2
 * signals the workers, then the primary), so that the primary logs its exit as a stop, not a death.
 */
export interface StoppingMessage {
  kind: 'stopping';
  signal: StopSignal;
}

export function isStoppingMessage(message: unknown): message is StoppingMessage {
  return (
    kindOf(message) === 'stopping' &&
    STOP_SIGNALS.includes((message as { signal?: unknown }).signal as StopSignal)
  );
}

/**
 * The primary's request to stop. It comes as a message, not a signal: a worker that a terminal or
 * pm2 signalled itself may already be exiting, and Node restores a signal's default action while
 * it exits, so the primary's SIGTERM could kill it then, and its clean stop would read as killed.
 */
export interface StopMessage {
  kind: 'stop';
}

export const STOP_MESSAGE: StopMessage = { kind: 'stop' };

function isStopMessage(message: unknown): message is StopMessage {
  return kindOf(message) === 'stop';
}

/** Resolves when the primary asks this worker to stop. */
function stopMessage(): Promise<'stop message from the primary'> {
  return new Promise((resolve) => {
    process.on('message', (message: unknown) => {
      if (isStopMessage(message)) resolve('stop message from the primary');
    });
  });
}

/** Sends a message to the primary; resolves once it is written, or at once without a channel. */
function tellPrimary(message: StartFailedMessage | StoppingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

export async function runWorker(config: Config): Promise<number> {
  const log = processLogger(config.logLevel, 'worker');
  // Listening before start-up, so that a stop requested while starting is not lost.
  const stop = Promise.race([stopSignal(log), stopMessage()]);

  let server: Server;
  try {
    server = await startServer(config, log);
  } catch (error) {
    const reason = messageOf(error);
    log.fatal({ event: 'worker_start_failed', err: error }, `worker could not start: ${reason}`);
    await tellPrimary({ kind: 'start_failed', error: reason });
    leaveCluster();
    return 1;
  }

  const reason = await stop;
  log.info({ event: 'worker_stopping', reason }, `${reason}: finishing requests in flight`);
  if (reason !== 'stop message from the primary') {
    await tellPrimary({ kind: 'stopping', signal: reason });
  }
  const code = await closeServer(server, config.shutdownGraceMs, log);
  leaveCluster();
  return code;
}

/** Closes the channel to the primary, which would otherwise keep the worker alive. */
function leaveCluster(): void {
  if (cluster.worker?.isConnected()) cluster.worker.disconnect();
}
