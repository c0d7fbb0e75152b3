import { MimeError } from './mime.ts';

/** Bytes per base64 line: 76 characters (RFC 2045) hold 57 bytes. */
const lineBytes = 57;

/** Base64 in lines of 76 characters, each ending in CRLF, chunk by chunk as the bytes arrive. */
export async function* base64Lines(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry = Buffer.alloc(0);
  for await (const chunk of source) {
    const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const whole = data.length - (data.length % lineBytes);
    if (whole > 0) yield encodeLines(data.subarray(0, whole));
    carry = Buffer.from(data.subarray(whole));
  }
  if (carry.length > 0) yield encodeLines(carry);
}

/** One base64 encoding of the whole chunk, then the lines copied out with CRLF after each 76 characters. */
function encodeLines(data: Buffer): Buffer {
  const text = Buffer.from(data.toString('base64'), 'latin1');
  const out = Buffer.allocUnsafe(text.length + Math.ceil(text.length / 76) * 2);
  let o = 0;
  for (let p = 0; p < text.length; p += 76) {
    const end = Math.min(p + 76, text.length);
    o += text.copy(out, o, p, end);
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  return out;
}

/** Length of `base64Lines` output for `n` bytes. */
export function base64LinesLength(n: number): number {
  if (n === 0) return 0;
  const full = Math.floor(n / lineBytes);
  const rest = n % lineBytes;
  return full * 78 + (rest === 0 ? 0 : Math.ceil(rest / 3) * 4 + 2);
}

/** Decodes base64 text arriving in chunks of any size, ignoring line breaks and other whitespace. */
export class Base64Decoder {
  #carry = '';

  /** Throws on characters that are not base64. */
  push(chunk: Buffer): Buffer {
    const text = this.#carry + chunk.toString('latin1').replace(/[\r\n\t ]/g, '');
    if (/[^A-Za-z0-9+/=]/.test(text)) throw new MimeError('invalid base64');
    const whole = text.length - (text.length % 4);
    this.#carry = text.slice(whole);
    return Buffer.from(text.slice(0, whole), 'base64');
  }

  end(): Buffer {
    if (this.#carry.length === 0) return Buffer.alloc(0);
    const rest = this.#carry;
    this.#carry = '';
    return Buffer.from(rest, 'base64');
  }
}
