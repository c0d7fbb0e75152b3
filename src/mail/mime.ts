/** Header parsing for the MIME entities the relay reads: small, strict, bounded. */

export class MimeError extends Error {
  override name = 'MimeError';
}

/** A header block is at most this long; more is hostile. */
export const maxHeaderBytes = 64 * 1024;

export interface HeaderBlock {
  headers: Map<string, string>;
  /** Bytes of the header block including the blank line that ends it. */
  length: number;
}

/** Parses the header block at the start of `head` (CRLF or bare LF line ends); names lower-cased, folded lines joined. */
export function parseHeaders(head: Buffer): HeaderBlock {
  const text = head.subarray(0, maxHeaderBytes).toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  if (match === null) {
    if (/^\r?\n/.test(text)) return { headers: new Map(), length: text.startsWith('\r\n') ? 2 : 1 };
    throw new MimeError(head.length > maxHeaderBytes ? 'header block too long' : 'no end of the header block');
  }
  const headers = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.slice(0, match.index).split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current !== undefined) {
      headers.set(current, `${headers.get(current) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MimeError('malformed header line');
    current = line.slice(0, colon).trim().toLowerCase();
    if (headers.size > 200) throw new MimeError('too many header fields');
    if (!headers.has(current)) headers.set(current, line.slice(colon + 1).trim());
  }
  return { headers, length: match.index + match[0].length };
}

export interface ContentType {
  type: string;
  params: Map<string, string>;
}

/** `type/subtype; a=b; c="d"` with the type and parameter names lower-cased. */
export function parseContentType(value: string | undefined): ContentType {
  if (value === undefined) return { type: 'text/plain', params: new Map() };
  const [type = '', ...rest] = splitParams(value);
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(p.slice(0, eq).trim().toLowerCase(), v);
  }
  return { type: type.trim().toLowerCase(), params };
}

function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** The file name of a part from Content-Disposition or the Content-Type `name`. */
export function partFileName(headers: Map<string, string>): string | undefined {
  return parseContentType(headers.get('content-disposition')).params.get('filename') ?? parseContentType(headers.get('content-type')).params.get('name');
}

/** A boundary as RFC 2046 allows it, checked before we search for it. */
export function checkBoundary(boundary: string | undefined): string {
  if (boundary === undefined || !/^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/.test(boundary)) throw new MimeError('missing or invalid multipart boundary');
  return boundary;
}
