/**
 * The logger of a process that is not (yet) a Fastify app: the cluster primary, a worker that
 * failed to start, the single process. Same pino format as Fastify's, plus the process's role.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config.ts';

export type Role = 'primary' | 'worker' | 'single';

export function processLogger(level: LogLevel, role: Role): Logger {
  return pino({ level }).child({ role });
}

/**
 * Why the server stops before serving, as one `error:` line on stderr, the way a bad variable is
 * told. The log (JSON on stdout, for machines) has the same event with its details; a person at
 * a terminal, or with stdout sent elsewhere, would not see it there.
 */
export function tellStartFailure(message: string): void {
  process.stderr.write(`error: ${message}\n`);
}
