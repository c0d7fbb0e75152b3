import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Base64Decoder, base64Lines, base64LinesLength } from '../../../src/mail/base64.ts';
import { AsnError, children, oid, readElement, readOid, seq, octets, Tag } from '../../../src/mail/der.ts';
import { MimeError, parseContentType, parseHeaders } from '../../../src/mail/mime.ts';
import { estimateMailSize } from '../../../src/mail/message-builder.ts';
import { splitBySize } from '../../../src/mail/split.ts';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(chunk);
  return Buffer.concat(parts);
}

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let p = 0; p < data.length; p += size) yield data.subarray(p, p + size);
}

describe('base64 lines', () => {
  test('lines of 76 characters with CRLF, whatever the chunking, of the announced length, decoding back', async () => {
    for (const n of [0, 1, 2, 3, 56, 57, 58, 114, 1000, 65_537]) {
      const data = randomBytes(n);
      for (const size of [1, 7, 57, 100, 4096]) {
        const text = await collect(base64Lines(chunks(data, size)));
        assert.equal(text.length, base64LinesLength(n), `length for ${n} bytes in chunks of ${size}`);
        const lines = text.toString('latin1').split('\r\n');
        assert.equal(lines.pop(), '');
        assert.ok(lines.every((l) => l.length <= 76 && l.length > 0));
        assert.ok(lines.slice(0, -1).every((l) => l.length === 76));
        const decoder = new Base64Decoder();
        const decoded: Buffer[] = [];
        for await (const c of chunks(text, 13)) decoded.push(decoder.push(c));
        decoded.push(decoder.end());
        assert.ok(Buffer.concat(decoded).equals(data));
      }
    }
  });

  test('the decoder refuses what is not base64', () => {
    assert.throws(() => new Base64Decoder().push(Buffer.from('QUJD*')), MimeError);
  });
});

describe('DER', () => {
  test('object identifiers round-trip, large arcs included', () => {
    for (const id of ['1.2.840.113549.1.7.3', '2.16.840.1.101.3.4.1.42', '1.3.6.1.4.1.311.60.2.1.3', '2.999.1']) assert.equal(readOid(readElement(oid(id))), id);
  });

  test('BER indefinite lengths are read; hostile lengths and nesting throw AsnError', () => {
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), octets(Buffer.from('abc')), Buffer.from([0, 0])]);
    const el = readElement(indefinite);
    assert.equal(children(el)[0]?.tag, Tag.OctetString);
    assert.throws(() => readElement(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00])), AsnError);
    assert.throws(() => readElement(Buffer.from([0x30, 0x80, 0x04, 0x01])), AsnError);
    let deep = octets(Buffer.from('x'));
    for (let i = 0; i < 100; i++) deep = Buffer.concat([Buffer.from([0x30, 0x80]), deep, Buffer.from([0, 0])]);
    assert.throws(() => readElement(deep), /too deep/);
    assert.throws(() => children(readElement(seq(Buffer.from([0x04, 0x10, 0x01])))), AsnError);
  });
});

describe('MIME headers', () => {
  test('folded lines, quoted parameters, bare LF; a header block without its end throws', () => {
    const { headers, length } = parseHeaders(Buffer.from('Content-Type: multipart/mixed;\n boundary="a;b"\nX-Other: 1\n\nbody'));
    assert.equal(length, 'Content-Type: multipart/mixed;\n boundary="a;b"\nX-Other: 1\n\n'.length);
    const type = parseContentType(headers.get('content-type'));
    assert.equal(type.type, 'multipart/mixed');
    assert.equal(type.params.get('boundary'), 'a;b');
    assert.throws(() => parseHeaders(Buffer.from('Subject: no end')), MimeError);
    assert.throws(() => parseHeaders(Buffer.from(`X: ${'a'.repeat(70_000)}\r\n\r\n`)), MimeError);
  });
});

describe('splitting a study into mails', () => {
  test('whole files, in order, each mail within the limit; a file alone over the limit is named', () => {
    const files = [40_000, 40_000, 40_000, 90_000, 10_000].map((size, id) => ({ id, size }));
    const limit = 200_000;
    const result = splitBySize(files, limit);
    assert.ok('groups' in result);
    if (!('groups' in result)) return;
    assert.deepEqual(result.groups.flat().map((f) => f.id), [0, 1, 2, 3, 4]);
    for (const group of result.groups) assert.ok(estimateMailSize(group.map((f) => f.size)) <= limit);
    assert.ok(result.groups.length >= 2);
    assert.deepEqual(splitBySize([{ size: 10 }, { size: 150_000 }], limit), { tooLarge: 1 });
  });

  test('the estimate covers both base64 layers: about 1.9 times the data', () => {
    const ratio = estimateMailSize([100 * 1024 * 1024]) / (100 * 1024 * 1024);
    assert.ok(ratio > 1.85 && ratio < 1.9, String(ratio));
  });
});
