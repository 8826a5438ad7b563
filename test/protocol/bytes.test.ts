import t from 'tap';
import { ByteLengthError, bytesEqual, fromHex, toHex, u64le, u8 } from '../../src/protocol/index.ts';

t.test('hex decodes either case to exact lengths and encodes lower case', async (t) => {
  t.same([...fromHex('00ABff', 3)], [0, 0xab, 0xff]);
  t.equal(toHex(fromHex('00ABff', 3)), '00abff');
});

t.test('hex of the wrong length or with non-hex characters is refused', async (t) => {
  t.throws(() => fromHex('00', 2), ByteLengthError);
  t.throws(() => fromHex('000000', 2), ByteLengthError);
  t.throws(() => fromHex('0g', 1), ByteLengthError);
  t.throws(() => fromHex(' 00', 2), ByteLengthError);
  t.throws(() => fromHex('0x00', 2), ByteLengthError);
});

t.test('u64 is little-endian and fixed width', async (t) => {
  t.equal(toHex(u64le(0)), '0000000000000000');
  t.equal(toHex(u64le(258)), '0201000000000000');
  t.equal(toHex(u64le(2 ** 32 + 5)), '0500000001000000');
  t.equal(toHex(u64le(1_764_720_000_123)), toHex(Buffer.from(new BigUint64Array([1_764_720_000_123n]).buffer)));
  t.equal(toHex(u64le(Number.MAX_SAFE_INTEGER)), 'ffffffffffff1f00');
  t.throws(() => u64le(-1), RangeError);
  t.throws(() => u64le(1.5), RangeError);
  t.throws(() => u64le(2 ** 53), RangeError);
});

t.test('u8 is one byte, and a value that does not fit is refused rather than wrapped', async (t) => {
  t.equal(toHex(u8(0)), '00');
  t.equal(toHex(u8(255)), 'ff');
  for (const value of [256, 512, -1, -256, 0.5, Number.NaN]) {
    t.throws(() => u8(value), RangeError, `${value}`);
  }
});

t.test('bytesEqual compares length and content', async (t) => {
  t.ok(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)));
  t.notOk(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)));
  t.notOk(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 0)));
});
