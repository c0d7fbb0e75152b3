/**
 * The little ASN.1 the mail relay needs: a DER writer for the CMS structures we build, and a BER
 * reader (definite and indefinite lengths) for those we receive. No general ASN.1 library: CMS is
 * a handful of fixed shapes, and the bulk content must stream, which libraries that parse whole
 * buffers cannot do.
 */

export const Tag = {
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Utf8String: 0x0c,
  Sequence: 0x30,
  Set: 0x31,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  /** [0] constructed (EXPLICIT, or IMPLICIT of a constructed type). */
  Context0: 0xa0,
  Context1: 0xa1,
  /** [0] primitive (IMPLICIT OCTET STRING). */
  Context0Primitive: 0x80,
} as const;

export function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Header of a TLV whose content is `length` bytes (for content that streams after it). */
export function derHeader(tag: number, length: number): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(length)]);
}

export function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([derHeader(tag, body.length), body]);
}

export const seq = (...content: Buffer[]): Buffer => der(Tag.Sequence, ...content);

/** A DER SET OF: elements sorted by their encodings (X.690 11.6), as signed attributes require. */
export function setOf(...elements: Buffer[]): Buffer {
  return der(Tag.Set, ...[...elements].sort(Buffer.compare));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => BigInt(p));
  const [a = 0n, b = 0n, ...rest] = parts;
  const bytes: number[] = [];
  for (const arc of [a * 40n + b, ...rest]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) group.unshift(Number(n & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  return der(Tag.Oid, Buffer.from(bytes));
}

export function int(value: number): Buffer {
  return der(Tag.Integer, Buffer.from([value]));
}

export const octets = (value: Buffer): Buffer => der(Tag.OctetString, value);
export const nullValue = (): Buffer => Buffer.from([Tag.Null, 0]);

export function utcTime(date: Date): Buffer {
  const iso = date.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(Tag.UtcTime, Buffer.from(text, 'ascii'));
}

export class AsnError extends Error {
  override name = 'AsnError';
}

/** One element as read: its tag, header size and content (for indefinite lengths, up to the end-of-contents octets). */
export interface Element {
  tag: number;
  constructed: boolean;
  /** Offset of the element in the buffer it was read from. */
  start: number;
  headerLength: number;
  /** Content bytes (for an indefinite length, without the closing 00 00). */
  content: Buffer;
  /** The element's whole encoding. */
  raw: Buffer;
}

/** Reads a tag and length at `pos`; `length` null means indefinite. Bounds-checked: hostile input throws AsnError. */
export function readHeader(buf: Buffer, pos: number): { tag: number; headerLength: number; length: number | null } {
  if (pos + 2 > buf.length) throw new AsnError('truncated ASN.1 header');
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw new AsnError('high tag numbers are not used in CMS');
  const first = buf[pos + 1] as number;
  if (first < 0x80) return { tag, headerLength: 2, length: first };
  if (first === 0x80) {
    if ((tag & 0x20) === 0) throw new AsnError('indefinite length on a primitive element');
    return { tag, headerLength: 2, length: null };
  }
  const count = first & 0x7f;
  if (count > 6) throw new AsnError('ASN.1 length too large');
  if (pos + 2 + count > buf.length) throw new AsnError('truncated ASN.1 length');
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (buf[pos + 2 + i] as number);
  return { tag, headerLength: 2 + count, length };
}

const maxDepth = 64;

/** Reads the element at `pos` of `buf`. */
export function readElement(buf: Buffer, pos = 0, depth = 0): Element {
  if (depth > maxDepth) throw new AsnError('ASN.1 nesting too deep');
  const { tag, headerLength, length } = readHeader(buf, pos);
  const constructed = (tag & 0x20) !== 0;
  const contentStart = pos + headerLength;
  if (length !== null) {
    if (contentStart + length > buf.length) throw new AsnError('ASN.1 element runs past its container');
    return { tag, constructed, start: pos, headerLength, content: buf.subarray(contentStart, contentStart + length), raw: buf.subarray(pos, contentStart + length) };
  }
  let p = contentStart;
  for (;;) {
    if (p + 2 > buf.length) throw new AsnError('indefinite-length element without its end');
    if (buf[p] === 0 && buf[p + 1] === 0) break;
    const child = readElement(buf, p, depth + 1);
    p = child.start + child.raw.length;
  }
  return { tag, constructed, start: pos, headerLength, content: buf.subarray(contentStart, p), raw: buf.subarray(pos, p + 2) };
}

/** The children of a constructed element. */
export function children(el: Element, depth = 0): Element[] {
  if (!el.constructed) throw new AsnError(`element with tag 0x${el.tag.toString(16)} is not constructed`);
  const out: Element[] = [];
  for (let p = 0; p < el.content.length; ) {
    const child = readElement(el.content, p, depth + 1);
    out.push(child);
    p = child.start + child.raw.length;
  }
  return out;
}

export function expect(el: Element | undefined, tag: number, what: string): Element {
  if (el === undefined) throw new AsnError(`${what} is missing`);
  if (el.tag !== tag) throw new AsnError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return el;
}

export function readOid(el: Element): string {
  const bytes = el.content;
  if (el.tag !== Tag.Oid || bytes.length === 0) throw new AsnError('not an object identifier');
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of bytes) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const a = first < 80n ? first / 40n : 2n;
  return [a, first - a * 40n, ...arcs].join('.');
}

/** The bytes of an OCTET STRING, primitive or (BER) constructed of segments. */
export function octetStringValue(el: Element): Buffer {
  if (!el.constructed) return el.content;
  return Buffer.concat(children(el).map((c) => octetStringValue(c)));
}
