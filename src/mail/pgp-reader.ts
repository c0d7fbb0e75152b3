import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Config, PublicKey } from 'openpgp';
import { head, readMixed, type ReadLimits, type ReadOutcome } from './message-reader.ts';
import { checkBoundary, maxHeaderBytes, MimeError, parseContentType, parseHeaders } from './mime.ts';
import { findParts, readRangeToBuffer, type Range } from './mime-file.ts';
import { decryptToFile, defaultStallMs } from './pgp-decrypt.ts';
import { verifyPgpSignedEntity } from './pgp-detached.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';
import { findInlinePgp } from './pgp-inline.ts';
import { readSetPosition } from './telemedicine-headers.ts';

export interface PgpReadRequest {
  rawPath: string;
  workDir: string;
  ours: OpenPgpIdentity;
  /**
   * The partner's pinned key and its rules (strict, or with the exceptions granted to it);
   * `inlinePgp` is its legacy.inlinePgp exception (off when left out).
   */
  partner: { key: PublicKey; config: Config; inlinePgp?: boolean };
  limits: ReadLimits;
  /** A read that makes no progress (no input taken, no output given) for this long is abandoned. */
  stallMs?: number;
}

/** What was let through by a partner's legacy exception, for the log. */
export type PgpReadOutcome = ReadOutcome & { legacyUsed?: string[] };

const inlineUsed = 'inline PGP instead of PGP/MIME (legacy.inlinePgp)';

/**
 * Opens an OpenPGP mail from a partner. The OpenPGP message, encrypted to our key, comes as
 * PGP/MIME (RFC 3156: multipart/encrypted, its second part) or, with the partner's legacy.inlinePgp
 * exception, as the whole text/plain body (inline PGP). It is decrypted to a file as it is read;
 * the decrypted content is then either
 * - the multipart/mixed content itself, signed in the same OpenPGP message by the partner (6.2), or
 * - a PGP/MIME signed entity (multipart/signed, application/pgp-signature) whose detached signature
 *   is the partner's over the multipart/mixed content (6.1, sign then encrypt).
 * Everything streams through files, so memory stays a few chunks for any size.
 */
export async function readPgpMessage(req: PgpReadRequest): Promise<PgpReadOutcome> {
  try {
    return await read(req);
  } catch (err) {
    if (err instanceof MimeError) return { kind: 'quarantine', reason: err.message };
    throw err;
  }
}

async function read(req: PgpReadRequest): Promise<PgpReadOutcome> {
  await mkdir(req.workDir, { recursive: true });
  const contentFile = path.join(req.workDir, 'content.mime');
  const stallMs = req.stallMs ?? defaultStallMs;
  const raw = await open(req.rawPath, 'r');
  const legacyUsed: string[] = [];
  let setPosition: ReturnType<typeof readSetPosition>;
  try {
    const size = (await raw.stat()).size;
    const outer = parseHeaders(await head(raw));
    setPosition = readSetPosition(outer.headers);
    const found = await findArmored(raw, { start: outer.length, end: size }, outer.headers, req.partner.inlinePgp === true);
    if ('reason' in found) return { kind: 'quarantine', reason: found.reason };
    if (found.inline) legacyUsed.push(inlineUsed);
    const decrypted = await decryptToFile({ rawPath: req.rawPath, armored: found.armored, outFile: contentFile, ours: req.ours, partner: req.partner, stallMs, ...(req.limits.maxContentBytes === undefined ? {} : { maxBytes: req.limits.maxContentBytes }) });
    if (decrypted.kind === 'quarantine') return decrypted;
    legacyUsed.push(...decrypted.legacyUsed);
    const content = await open(contentFile, 'r');
    try {
      const outcome = await readDecrypted(content, decrypted.signed, req, stallMs);
      if (outcome.kind === 'quarantine') return outcome;
      legacyUsed.push(...(outcome.legacyUsed ?? []));
      if (setPosition !== null && (setPosition.setId !== outcome.manifest.sendId || setPosition.part !== outcome.manifest.part || setPosition.parts !== outcome.manifest.parts)) {
        return { kind: 'quarantine', reason: 'the X-TELEMEDICINE set headers do not match the signed manifest' };
      }
      const { legacyUsed: _, ...verified } = outcome;
      return legacyUsed.length === 0 ? verified : { ...verified, legacyUsed: [...new Set(legacyUsed)] };
    } finally {
      await content.close();
    }
  } finally {
    await raw.close();
  }
}

/** Where the armored OpenPGP message lies in the mail, or why the mail is refused before any decryption. */
async function findArmored(raw: FileHandle, body: Range, headers: Map<string, string>, inlineAllowed: boolean): Promise<{ armored: Range; inline: boolean } | { reason: string }> {
  const type = parseContentType(headers.get('content-type'));
  const protocol = (type.params.get('protocol') ?? '').toLowerCase();
  if (type.type === 'multipart/encrypted' && protocol === 'application/pgp-encrypted') return { armored: await pgpMimeArmored(raw, body, type.params.get('boundary')), inline: false };
  const notPgpMime = `not OpenPGP encrypted: the mail is ${type.type}${protocol === '' ? '' : ` (${protocol})`}, not PGP/MIME multipart/encrypted`;
  if (type.type === 'multipart/encrypted') return { reason: notPgpMime };
  const inline = await findInlinePgp(raw, body, type, headers.get('content-transfer-encoding'));
  switch (inline.kind) {
    case 'none':
      return { reason: notPgpMime };
    case 'clearsigned':
      return { reason: 'inline PGP clear-signed text: signed but not encrypted, never accepted' };
    case 'refused':
      return { reason: `${inline.reason}; expected PGP/MIME multipart/encrypted` };
    case 'inline':
      return inlineAllowed ? { armored: inline.armored, inline: true } : { reason: 'inline PGP (an armored OpenPGP message as the text/plain body, not PGP/MIME): accepted from this partner only with the legacy exception legacy.inlinePgp' };
  }
}

/** The armored message of multipart/encrypted (RFC 3156 4): the version part, then application/octet-stream. */
async function pgpMimeArmored(raw: FileHandle, body: Range, boundary: string | undefined): Promise<Range> {
  const parts = await findParts(raw, body, checkBoundary(boundary), 2);
  const [control, encrypted] = parts;
  if (parts.length !== 2 || control === undefined || encrypted === undefined) throw new MimeError(`multipart/encrypted with ${parts.length} parts (expected the version and the encrypted data)`);
  const controlText = (await readRangeToBuffer(raw, control, maxHeaderBytes, 'the PGP/MIME version part')).toString('latin1');
  const controlHead = parseHeaders(Buffer.from(controlText, 'latin1'));
  if (parseContentType(controlHead.headers.get('content-type')).type !== 'application/pgp-encrypted' || !/^Version: 1\s*$/m.test(controlText.slice(controlHead.length))) {
    throw new MimeError('the first part of multipart/encrypted is not application/pgp-encrypted with Version: 1');
  }
  const encryptedHead = parseHeaders(await readRangeToBuffer(raw, { start: encrypted.start, end: Math.min(encrypted.end, encrypted.start + maxHeaderBytes) }, maxHeaderBytes, 'encrypted part headers'));
  if (parseContentType(encryptedHead.headers.get('content-type')).type !== 'application/octet-stream') throw new MimeError('the encrypted part is not application/octet-stream');
  return { start: encrypted.start + encryptedHead.length, end: encrypted.end };
}

/**
 * The decrypted content: a PGP/MIME signed entity (its detached signature checked, then its signed
 * part read), or, when the OpenPGP message itself was signed, the multipart/mixed content directly.
 */
async function readDecrypted(content: FileHandle, signedInside: boolean, req: PgpReadRequest, stallMs: number): Promise<PgpReadOutcome> {
  const size = (await content.stat()).size;
  const type = parseContentType(parseHeaders(await head(content)).headers.get('content-type'));
  if (type.type === 'multipart/signed') {
    const checked = await verifyPgpSignedEntity(content, size, req.partner, stallMs);
    if (!checked.ok) return { kind: 'quarantine', reason: checked.reason };
    const outcome = await readMixed(content, checked.content, req);
    return outcome.kind === 'verified' && checked.legacyUsed.length > 0 ? { ...outcome, legacyUsed: checked.legacyUsed } : outcome;
  }
  if (!signedInside) return { kind: 'quarantine', reason: `unsigned: the OpenPGP message carries no signature and the decrypted content is ${type.type}, not a PGP/MIME signed entity (multipart/signed)` };
  return readMixed(content, { start: 0, end: size }, req);
}
