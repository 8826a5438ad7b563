import type { Ledger } from '../../ledger/index.ts';

/** What every route is given: the ledger (which also holds the clock and the backend key). */
export interface RouteDeps {
  ledger: Ledger;
}
