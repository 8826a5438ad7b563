/**
 * A small seeded random source (mulberry32) for tests that generate their inputs: the same seed
 * gives the same inputs, so a failure found once can be replayed by its seed.
 */

export class SeededRandom {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let x = this.#state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** Printable ASCII, no spaces. */
  word(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String.fromCharCode(0x21 + this.int(94));
    return out;
  }

  /** A seed for a child generator, so that one stream's length does not shift another's. */
  fork(): SeededRandom {
    return new SeededRandom(this.int(4_294_967_296));
  }
}
