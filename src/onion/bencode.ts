/**
 * The sliver of bencode the onion protocol uses: a list of byte strings. Decoding is strict
 * (one canonical encoding per value) and accepts only the one or two strings an onion payload
 * carries. Values are bytes, never JS strings, because bodies may be binary.
 */

export class BencodeError extends Error {
  override name = 'BencodeError';
}

const LIST_START = 0x6c; // 'l'
const END = 0x65; // 'e'
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

// More digits than this could not describe a string that fits in an onion body.
const MAX_LENGTH_DIGITS = 9;

export type OneOrTwoStrings = [Uint8Array] | [Uint8Array, Uint8Array];

/** Decodes `l<len>:<bytes>e` or `l<len>:<bytes><len>:<bytes>e` and nothing else. */
export function decodeOneOrTwoStrings(data: Uint8Array): OneOrTwoStrings {
  if (data[0] !== LIST_START) throw new BencodeError('payload is not a bencoded list');

  const items: Uint8Array[] = [];
  let at = 1;
  while (at < data.length && data[at] !== END) {
    if (items.length === 2) throw new BencodeError('list has more than two elements');
    const [item, next] = decodeByteString(data, at);
    items.push(item);
    at = next;
  }

  if (at >= data.length) throw new BencodeError('list is not terminated');
  if (at + 1 !== data.length) throw new BencodeError('bytes follow the end of the list');
  if (items.length === 0) throw new BencodeError('list is empty');
  return items as OneOrTwoStrings;
}

/** Reads `<len>:<bytes>` at `start`; returns the bytes and the offset after them. */
function decodeByteString(data: Uint8Array, start: number): [Uint8Array, number] {
  let at = start;
  while (at < data.length && isDigit(data[at]!)) at++;

  const digits = at - start;
  if (digits === 0) throw new BencodeError('list element is not a byte string');
  if (digits > MAX_LENGTH_DIGITS) throw new BencodeError('byte string length is too long');
  if (digits > 1 && data[start] === DIGIT_0) {
    throw new BencodeError('byte string length has a leading zero');
  }
  if (data[at] !== COLON) throw new BencodeError('byte string length is not followed by ":"');

  const length = Number(Buffer.from(data.subarray(start, at)).toString('latin1'));
  const bytesStart = at + 1;
  const bytesEnd = bytesStart + length;
  if (bytesEnd > data.length) throw new BencodeError('byte string runs past the end');
  return [data.subarray(bytesStart, bytesEnd), bytesEnd];
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9;
}

/** Encodes a list of byte strings: `l<len>:<bytes>...e`. */
export function encodeByteStringList(items: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(LIST_START)];
  for (const item of items) parts.push(Buffer.from(`${item.length}:`, 'latin1'), item);
  parts.push(Uint8Array.of(END));
  return Buffer.concat(parts);
}
