import type { FileHandle } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import type { Config, PublicKey } from 'openpgp';
import { head } from './message-reader.ts';
import { checkBoundary, maxHeaderBytes, parseContentType, parseHeaders } from './mime.ts';
import { findParts, readCanonical, readRangeToBuffer, type Range } from './mime-file.ts';
import { checkSignatures, pgpReason, stallWatchdog } from './pgp-decrypt.ts';
import { pullStream } from './web-stream.ts';

/** An armored detached signature is a few KB; more is not one. */
const maxSignatureBytes = 64 * 1024;

export type DetachedOutcome = { ok: true; content: Range; legacyUsed: string[] } | { ok: false; reason: string };

/**
 * Checks a PGP/MIME signed entity (RFC 3156 5) that fills a file, headers first: `multipart/signed;
 * protocol="application/pgp-signature"`, the signed part then one armored detached signature. Every
 * signature in it must be the partner's pinned key's and match the signed part: its bytes between
 * the boundaries (without the line break before the next delimiter), hashed with CRLF line ends.
 * The signed part streams from the file through the hash, so memory stays flat for any size.
 * Returns where the signed part lies.
 */
export async function verifyPgpSignedEntity(handle: FileHandle, size: number, partner: { key: PublicKey; config: Config }, stallMs: number): Promise<DetachedOutcome> {
  const top = parseHeaders(await head(handle));
  const type = parseContentType(top.headers.get('content-type'));
  const protocol = (type.params.get('protocol') ?? '').toLowerCase();
  if (type.type !== 'multipart/signed' || protocol !== 'application/pgp-signature') return { ok: false, reason: `the signed content is ${type.type}${protocol === '' ? '' : ` (${protocol})`}, not PGP/MIME multipart/signed (application/pgp-signature)` };
  const parts = await findParts(handle, { start: top.length, end: size }, checkBoundary(type.params.get('boundary')), 2);
  const [signed, signaturePart] = parts;
  if (parts.length !== 2 || signed === undefined || signaturePart === undefined) return { ok: false, reason: `multipart/signed with ${parts.length} parts (expected the signed part and the signature)` };
  const sigText = (await readRangeToBuffer(handle, signaturePart, maxSignatureBytes, 'the detached signature part')).toString('latin1');
  const sigHead = parseHeaders(Buffer.from(sigText, 'latin1'));
  if (parseContentType(sigHead.headers.get('content-type')).type !== 'application/pgp-signature') return { ok: false, reason: 'the second part of multipart/signed is not application/pgp-signature' };
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: sigText.slice(sigHead.length) });
  } catch (err) {
    return { ok: false, reason: `the detached signature is not a readable OpenPGP signature: ${(err as Error).message}` };
  }
  const watchdog = stallWatchdog(stallMs);
  try {
    const content = (async function* () {
      for await (const chunk of readCanonical(handle, signed)) {
        watchdog.touch();
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      }
    })();
    const message = await openpgp.createMessage({ binary: pullStream(content) });
    const verified = await watchdog.race(openpgp.verify({ message, signature, verificationKeys: partner.key, expectSigned: true, format: 'binary', config: partner.config }));
    // The hash reads a copy of the data: drained here, both move together and nothing piles up.
    // With expectSigned the data ends with the check of the signatures, so a mismatch fails the drain.
    await watchdog.race(
      (async () => {
        for await (const _ of verified.data as unknown as AsyncIterable<Uint8Array>) watchdog.touch();
      })(),
    );
    return { ok: true, content: signed, legacyUsed: await checkSignatures(verified.signatures) };
  } catch (err) {
    return { ok: false, reason: pgpReason(err as Error) };
  } finally {
    watchdog.stop();
  }
}
