import t from 'tap';
import { refusal } from '../support/refusal.ts';
import { decodeOneOrTwoStrings, encodeByteStringList } from '../../src/onion/bencode.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const text = (data: Uint8Array) => Buffer.from(data).toString('latin1');


t.test('a list of one or two byte strings decodes to those bytes', async (t) => {
  t.same(decodeOneOrTwoStrings(bytes('l3:abce')).map(text), ['abc']);
  t.same(decodeOneOrTwoStrings(bytes('l3:abc2:dee')).map(text), ['abc', 'de']);
  t.same(decodeOneOrTwoStrings(bytes('l0:0:e')).map(text), ['', '']);
  t.same(decodeOneOrTwoStrings(bytes('l10:0123456789e')).map(text), ['0123456789']);
});

t.test('byte strings may hold any bytes, including the list markers', async (t) => {
  const binary = Buffer.from([0x00, 0xff, 0x65, 0x6c, 0x3a]);
  const encoded = encodeByteStringList([bytes('m'), binary]);

  t.same(Buffer.from(encoded), Buffer.concat([bytes('l1:m5:'), binary, bytes('e')]));
  t.same(decodeOneOrTwoStrings(encoded).map((item) => Buffer.from(item)), [bytes('m'), binary]);
});

t.test('encoding writes decimal lengths without padding', async (t) => {
  t.equal(text(encodeByteStringList([])), 'le');
  const twelve = 'x'.repeat(12);
  t.equal(text(encodeByteStringList([bytes(twelve), bytes('')])), `l12:${twelve}0:e`);
});

t.test('anything but one or two canonical byte strings is refused', async (t) => {
  const refused: Array<[string, string]> = [
    ['', 'payload is not a bencoded list'],
    ['3:abc', 'payload is not a bencoded list'],
    ['d3:abce', 'payload is not a bencoded list'],
    ['le', 'list is empty'],
    ['l3:abc', 'list is not terminated'],
    ['l', 'list is not terminated'],
    ['l1:a1:b1:ce', 'list has more than two elements'],
    ['l3:abcee', 'bytes follow the end of the list'],
    ['l3:abce ', 'bytes follow the end of the list'],
    ['l03:abce', 'byte string length has a leading zero'],
    ['l00:e', 'byte string length has a leading zero'],
    ['l4:abce', 'list is not terminated'],
    ['l9:abce', 'byte string runs past the end'],
    ['l-1:e', 'list element is not a byte string'],
    ['li3ee', 'list element is not a byte string'],
    ['ll3:abcee', 'list element is not a byte string'],
    ['l3:abcd1:ae', 'list element is not a byte string'],
    ['l3abce', 'byte string length is not followed by ":"'],
    ['l1234567890:e', 'byte string length is too long'],
  ];
  for (const [input, message] of refused) {
    t.equal(refusal(() => decodeOneOrTwoStrings(bytes(input))), `BencodeError: ${message}`, input);
  }
});
