/**
 * Fixed-length byte types and the hex codec used at every boundary of the protocol.
 *
 * A `Bytes<N>` is a Uint8Array whose length was checked to be N when it was made; the brand keeps
 * a 32-byte public key from being passed where a 64-byte signature is expected.
 */

declare const lengthBrand: unique symbol;

export type Bytes<N extends number> = Uint8Array & { readonly [lengthBrand]: N };

export type PublicKey = Bytes<32>;
export type Signature = Bytes<64>;
export type Hash32 = Bytes<32>;
export type PaymentToken = Bytes<32>;
export type Salt = Bytes<16>;
export type Seed = Bytes<32>;

export class ByteLengthError extends Error {
  override name = 'ByteLengthError';
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Checks the length of `bytes` and brands it. */
export function fixedBytes<N extends number>(bytes: Uint8Array, length: N, what = 'value'): Bytes<N> {
  if (bytes.length !== length) {
    throw new ByteLengthError(`${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes as Bytes<N>;
}

/** Decodes hex of exactly `length` bytes (either case); anything else throws. */
export function fromHex<N extends number>(hex: string, length: N, what = 'value'): Bytes<N> {
  if (hex.length !== length * 2 || !HEX_RE.test(hex)) {
    throw new ByteLengthError(`${what} must be ${length * 2} hex characters`);
  }
  const buf = Buffer.from(hex, 'hex');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length) as Bytes<N>;
}

/** Lower-case hex, as every response of the protocol carries it. */
export function toHex(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('hex');
}

/** A Buffer over the same memory (no copy), for APIs typed to take Buffers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One byte; a value that does not fit is refused, not wrapped (256 would hash as 0). */
export function u8(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new RangeError(`u8 value must be an integer from 0 to 255, got ${value}`);
  }
  return Uint8Array.of(value);
}

/** u64, little-endian, for values up to 2^53 - 1 (the protocol's integers are JS-safe). */
export function u64le(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`u64 value must be a safe non-negative integer, got ${value}`);
  }
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, value >>> 0, true);
  view.setUint32(4, Math.floor(value / 2 ** 32), true);
  return out;
}
