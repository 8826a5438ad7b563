/** Time for the ledger: UNIX seconds, injectable so tests can stand at any moment. */
export type Clock = () => number;

export const DAY_S = 86_400;

export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

/** Rounds up to a multiple of a day; a multiple stays as it is. */
export function dayCeil(unixTsS: number): number {
  return Math.ceil(unixTsS / DAY_S) * DAY_S;
}

/** The latest UTC midnight at or before `unixTsS`. */
export function latestMidnight(unixTsS: number): number {
  return Math.floor(unixTsS / DAY_S) * DAY_S;
}
