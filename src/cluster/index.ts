/**
 * The cluster: the first process is the primary and forks the workers, which run the same entry
 * point and find themselves workers.
 */
import cluster from 'node:cluster';
import type { Config } from '../config.ts';
import { runPrimary } from './primary.ts';
import { runWorker } from './worker.ts';

export function runPrimaryOrWorker(config: Config): Promise<number> {
  return cluster.isPrimary ? runPrimary(config) : runWorker(config);
}
