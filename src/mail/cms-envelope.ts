import { createCipheriv, createDecipheriv, constants, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { CmsCertificate } from './certificate.ts';
import { AsnError, children, derHeader, expect, int, nullValue, octets, oid, octetStringValue, readElement, readHeader, readOid, seq, setOf, Tag, type Element } from './der.ts';
import { cipherNames, Oid } from './oids.ts';

const blockSize = 16;

/** Length of AES-CBC output with PKCS#7 padding for `length` bytes in. */
export function cbcLength(length: number): number {
  return (Math.floor(length / blockSize) + 1) * blockSize;
}

/**
 * CMS EnvelopedData (RFC 5652, AES-256-CBC per RFC 3565, the key transported with RSA PKCS#1 v1.5 to
 * the partner's certificate), streamed: the caller says how long the plaintext is, so that every
 * length is known up front and the output is plain DER; the content is encrypted chunk by chunk as
 * it comes. Memory stays at one chunk whatever the size.
 */
export async function* envelope(plaintext: AsyncIterable<Buffer>, plaintextLength: number, recipient: CmsCertificate): AsyncGenerator<Buffer> {
  const key = randomBytes(32);
  const iv = randomBytes(blockSize);
  const encryptedKey = publicEncrypt({ key: recipient.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, key);
  const recipientInfo = seq(int(0), recipient.issuerAndSerial, seq(oid(Oid.rsaEncryption), nullValue()), octets(encryptedKey));
  const cipherLength = cbcLength(plaintextLength);
  const contentHeader = derHeader(Tag.Context0Primitive, cipherLength);
  const algorithm = Buffer.concat([oid(Oid.data), seq(oid(Oid.aes256Cbc), octets(iv))]);
  const encryptedContentInfoLength = algorithm.length + contentHeader.length + cipherLength;
  const eciHeader = derHeader(Tag.Sequence, encryptedContentInfoLength);
  const head = Buffer.concat([int(0), setOf(recipientInfo)]);
  const envelopedLength = head.length + eciHeader.length + encryptedContentInfoLength;
  const envelopedHeader = derHeader(Tag.Sequence, envelopedLength);
  const explicitLength = envelopedHeader.length + envelopedLength;
  const explicitHeader = derHeader(Tag.Context0, explicitLength);
  const typeOid = oid(Oid.envelopedData);
  yield Buffer.concat([derHeader(Tag.Sequence, typeOid.length + explicitHeader.length + explicitLength), typeOid, explicitHeader, envelopedHeader, head, eciHeader, algorithm, contentHeader]);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  let seen = 0;
  for await (const chunk of plaintext) {
    seen += chunk.length;
    const out = cipher.update(chunk);
    if (out.length > 0) yield out;
  }
  if (seen !== plaintextLength) throw new Error(`the content was ${seen} bytes, ${plaintextLength} were announced`);
  yield cipher.final();
}

export class DecryptError extends Error {
  override name = 'DecryptError';
}

/** Small elements (recipient infos, algorithm identifiers) are read whole; larger ones are hostile. */
const maxSmallElement = 1024 * 1024;

async function readAt(handle: FileHandle, pos: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, pos);
  return buf.subarray(0, bytesRead);
}

async function headerAt(handle: FileHandle, pos: number): Promise<{ tag: number; headerLength: number; length: number | null }> {
  return readHeader(await readAt(handle, pos, 16), 0);
}

/** A whole small element at `pos`, read into memory. */
async function smallAt(handle: FileHandle, pos: number, fileSize: number): Promise<Element> {
  return readElement(await readAt(handle, pos, Math.min(maxSmallElement, fileSize - pos)), 0);
}

/**
 * Decrypts a CMS EnvelopedData (DER or BER, as written by us or by `openssl cms -encrypt`) from a file,
 * writing the plaintext through `write` chunk by chunk. Only the recipient info and algorithm are held
 * in memory; the content streams from the file. Throws DecryptError with the reason when it cannot.
 */
export async function decryptEnvelopeFile(handle: FileHandle, fileSize: number, ours: { certificate: CmsCertificate; key: KeyObject }, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  const top = await headerAt(handle, 0);
  if (top.tag !== Tag.Sequence) throw new DecryptError('not a CMS message');
  let pos = top.headerLength;
  const typeEl = await smallAt(handle, pos, fileSize);
  if (readOid(expect(typeEl, Tag.Oid, 'contentType')) !== Oid.envelopedData) throw new DecryptError('the message is not encrypted (no CMS EnvelopedData)');
  pos += typeEl.raw.length;
  const explicit = await headerAt(handle, pos);
  if (explicit.tag !== Tag.Context0) throw new DecryptError('malformed ContentInfo');
  pos += explicit.headerLength;
  const envHeader = await headerAt(handle, pos);
  if (envHeader.tag !== Tag.Sequence) throw new DecryptError('malformed EnvelopedData');
  pos += envHeader.headerLength;
  const version = await smallAt(handle, pos, fileSize);
  pos += expect(version, Tag.Integer, 'version').raw.length;
  let next = await smallAt(handle, pos, fileSize);
  if (next.tag === Tag.Context0) {
    pos += next.raw.length; // originatorInfo: not needed for key transport
    next = await smallAt(handle, pos, fileSize);
  }
  const recipients = children(expect(next, Tag.Set, 'recipientInfos'));
  pos += next.raw.length;
  const key = contentKey(recipients, ours);
  const eci = await headerAt(handle, pos);
  if (eci.tag !== Tag.Sequence) throw new DecryptError('malformed EncryptedContentInfo');
  pos += eci.headerLength;
  const typeOfContent = await smallAt(handle, pos, fileSize);
  pos += typeOfContent.raw.length;
  const alg = children(expect(await smallAt(handle, pos, fileSize), Tag.Sequence, 'contentEncryptionAlgorithm'));
  pos += (await smallAt(handle, pos, fileSize)).raw.length;
  const algOid = readOid(expect(alg[0], Tag.Oid, 'content cipher'));
  const cipher = cipherNames[algOid];
  if (cipher === undefined) throw new DecryptError(`content cipher ${algOid} is not supported (AES-CBC is)`);
  if (key.length !== cipher.keyLength) throw new DecryptError('the content key has the wrong length for its cipher');
  const iv = expect(alg[1], Tag.OctetString, 'IV').content;
  if (iv.length !== blockSize) throw new DecryptError('the IV has the wrong length');
  const decipher = createDecipheriv(cipher.name, key, iv);
  const content = await headerAt(handle, pos);
  const feed = async (start: number, length: number): Promise<void> => {
    if (start + length > fileSize) throw new DecryptError('the encrypted content is truncated');
    for (let p = start; p < start + length; ) {
      const chunk = await readAt(handle, p, Math.min(256 * 1024, start + length - p));
      if (chunk.length === 0) throw new DecryptError('the encrypted content is truncated');
      p += chunk.length;
      const out = decipher.update(chunk);
      if (out.length > 0) await write(out);
    }
  };
  if (content.tag === Tag.Context0Primitive) {
    if (content.length === null) throw new DecryptError('malformed encrypted content');
    await feed(pos + content.headerLength, content.length);
  } else if (content.tag === Tag.Context0) {
    await feedSegments(handle, pos, fileSize, feed, 0);
  } else throw new DecryptError('the message has no encrypted content');
  let last: Buffer;
  try {
    last = decipher.final();
  } catch {
    throw new DecryptError('the content does not decrypt (wrong key or damaged)');
  }
  if (last.length > 0) await write(last);
}

/** Walks a BER constructed OCTET STRING (definite or indefinite, nested) and feeds its segments; returns the position after it. */
async function feedSegments(handle: FileHandle, pos: number, fileSize: number, feed: (start: number, length: number) => Promise<void>, depth: number): Promise<number> {
  if (depth > 8) throw new AsnError('encrypted content nested too deep');
  const h = await headerAt(handle, pos);
  let p = pos + h.headerLength;
  const end = h.length === null ? Infinity : p + h.length;
  while (p < end) {
    if (p >= fileSize) throw new DecryptError('the encrypted content is truncated');
    const child = await headerAt(handle, p);
    if (h.length === null && child.tag === 0 && (await readAt(handle, p + 1, 1))[0] === 0) return p + 2;
    if ((child.tag & 0x20) !== 0) p = await feedSegments(handle, p, fileSize, feed, depth + 1);
    else {
      if (child.tag !== Tag.OctetString || child.length === null) throw new DecryptError('malformed encrypted content segment');
      await feed(p + child.headerLength, child.length);
      p += child.headerLength + child.length;
    }
  }
  return end;
}

/** The content key from the recipient info that names our certificate. */
function contentKey(recipients: Element[], ours: { certificate: CmsCertificate; key: KeyObject }): Buffer {
  for (const ri of recipients) {
    if (ri.tag !== Tag.Sequence) continue; // not key transport (kari, kekri, pwri are [n])
    const fields = children(ri);
    const rid = fields[1];
    if (rid === undefined) continue;
    // Recipients named by subject key identifier are not ours: we send and expect issuer and serial.
    if (rid.tag !== Tag.Sequence || !Buffer.from(rid.raw).equals(ours.certificate.issuerAndSerial)) continue;
    const algOid = readOid(expect(children(expect(fields[2], Tag.Sequence, 'keyEncryptionAlgorithm'))[0], Tag.Oid, 'key algorithm'));
    const encryptedKey = octetStringValue(expect(fields[3], Tag.OctetString, 'encryptedKey'));
    const padding = algOid === Oid.rsaEncryption ? constants.RSA_PKCS1_PADDING : algOid === Oid.rsaesOaep ? constants.RSA_PKCS1_OAEP_PADDING : undefined;
    if (padding === undefined) throw new DecryptError(`key transport algorithm ${algOid} is not supported`);
    try {
      return privateDecrypt({ key: ours.key, padding }, encryptedKey);
    } catch {
      throw new DecryptError('the content key does not decrypt with our key');
    }
  }
  throw new DecryptError('the message is not encrypted for our certificate');
}
