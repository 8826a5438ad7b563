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
