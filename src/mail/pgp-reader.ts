import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { enums } from 'openpgp';
import type { Config, PublicKey } from 'openpgp';
import { fileSink, head, readMixed, type ReadLimits, type ReadOutcome } from './message-reader.ts';
import { checkBoundary, maxHeaderBytes, MimeError, parseContentType, parseHeaders } from './mime.ts';
import { findParts, readRangeToBuffer } from './mime-file.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';
import { readSetPosition } from './telemedicine-headers.ts';

export interface PgpReadRequest {
  rawPath: string;
  workDir: string;
  ours: OpenPgpIdentity;
  /** The partner's pinned key and its rules (strict, or with the exceptions granted to it). */
  partner: { key: PublicKey; config: Config };
  limits: ReadLimits;
  /** A read that makes no progress (no input taken, no output given) for this long is abandoned. */
  stallMs?: number;
}

const defaultStallMs = 60_000;

/**
 * openpgp (6.3) can stop reading a streamed message whose encrypted packets decrypt to garbage (a
 * tampered body) without ever settling its promises. Streaming keeps memory flat for big studies, so
 * instead of feeding it the whole mail, a read that stops moving is abandoned as unreadable.
 */
function stallWatchdog(stallMs: number): { touch: () => void; race: <T>(p: Promise<T>) => Promise<T>; stop: () => void } {
  let last = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let fail: (err: Error) => void = () => undefined;
  const stalled = new Promise<never>((_, reject) => {
    fail = reject;
  });
  stalled.catch(() => undefined);
  const check = (): void => {
    if (Date.now() - last >= stallMs) fail(new Error(`the encrypted data stopped making sense (no progress for ${stallMs} ms): damaged or tampered`));
    else timer = setTimeout(check, Math.max(10, stallMs / 4));
  };
  timer = setTimeout(check, Math.max(10, stallMs / 4));
  timer.unref();
  return {
    touch: () => {
      last = Date.now();
    },
    race: (p) => Promise.race([p, stalled]),
    stop: () => clearTimeout(timer),
  };
}

/** What was let through by a partner's legacy exception, for the log. */
export type PgpReadOutcome = ReadOutcome & { legacyUsed?: string[] };

/**
 * Opens a PGP/MIME mail (RFC 3156): multipart/encrypted whose second part is one armored OpenPGP
 * message, encrypted to our key and signed (in the same message, 6.2) by the partner's pinned key.
 * Decrypts to a file as it reads: the plaintext is released before the end of the stream (it goes
 * to disk, not anywhere it could be used) and only looked at once the integrity check and the
 * signature at the end have passed, so memory stays a few chunks for any size.
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
  const raw = await open(req.rawPath, 'r');
  let legacyUsed: string[] = [];
  let setPosition: ReturnType<typeof readSetPosition>;
  try {
    const size = (await raw.stat()).size;
    const outer = parseHeaders(await head(raw));
    setPosition = readSetPosition(outer.headers);
    const type = parseContentType(outer.headers.get('content-type'));
    const protocol = (type.params.get('protocol') ?? '').toLowerCase();
    if (type.type !== 'multipart/encrypted' || protocol !== 'application/pgp-encrypted') {
      return { kind: 'quarantine', reason: `not OpenPGP encrypted: the mail is ${type.type}${protocol === '' ? '' : ` (${protocol})`}, not PGP/MIME multipart/encrypted` };
    }
    const parts = await findParts(raw, { start: outer.length, end: size }, checkBoundary(type.params.get('boundary')), 2);
    const [control, body] = parts;
    if (parts.length !== 2 || control === undefined || body === undefined) return { kind: 'quarantine', reason: `multipart/encrypted with ${parts.length} parts (expected the version and the encrypted data)` };
    const controlText = (await readRangeToBuffer(raw, control, maxHeaderBytes, 'the PGP/MIME version part')).toString('latin1');
    const controlHead = parseHeaders(Buffer.from(controlText, 'latin1'));
    if (parseContentType(controlHead.headers.get('content-type')).type !== 'application/pgp-encrypted' || !/^Version: 1\s*$/m.test(controlText.slice(controlHead.length))) {
      return { kind: 'quarantine', reason: 'the first part of multipart/encrypted is not application/pgp-encrypted with Version: 1' };
    }
    const bodyHead = parseHeaders(await readRangeToBuffer(raw, { start: body.start, end: Math.min(body.end, body.start + maxHeaderBytes) }, maxHeaderBytes, 'encrypted part headers'));
    if (parseContentType(bodyHead.headers.get('content-type')).type !== 'application/octet-stream') return { kind: 'quarantine', reason: 'the encrypted part is not application/octet-stream' };
    // Node's own stream over the armored text, as the strings openpgp reads: it ends cleanly when
    // openpgp gives up on bad input mid-way (an iterator-fed stream left openpgp waiting there).
    const armored = createReadStream(req.rawPath, { start: body.start + bodyHead.length, end: body.end - 1, encoding: 'latin1', highWaterMark: 256 * 1024 });
    let message: openpgp.Message<ReadableStream<Uint8Array>>;
    try {
      // Counted by chunks: the default strategy sizes chunks by byteLength, which strings lack.
      message = await openpgp.readMessage({ armoredMessage: Readable.toWeb(armored, { strategy: { highWaterMark: 4, size: () => 1 } }) as unknown as ReadableStream<string> });
    } catch (err) {
      armored.destroy();
      return { kind: 'quarantine', reason: `not a readable OpenPGP message: ${(err as Error).message}` };
    }
    const sink = await fileSink(contentFile);
    try {
      const watchdog = stallWatchdog(req.stallMs ?? defaultStallMs);
      armored.on('data', watchdog.touch);
      const decrypted = await watchdog.race(openpgp.decrypt({
        message,
        decryptionKeys: req.ours.privateKey,
        verificationKeys: req.partner.key,
        expectSigned: true,
        format: 'binary',
        config: { ...req.partner.config, allowUnauthenticatedStream: true },
      }));
      // Errors of the integrity check or the signature surface at the stream's end, or (garbage
      // inside the encryption) only in the signature's promises while the data waits for input that
      // openpgp no longer reads: whichever fails first ends the read.
      const copy = (async () => {
        for await (const chunk of decrypted.data as unknown as AsyncIterable<Uint8Array>) {
          watchdog.touch();
          await sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        }
      })();
      const failed = new Promise<never>((_, reject) => {
        for (const s of decrypted.signatures) {
          s.verified.catch(reject);
          s.signature.catch(reject);
        }
      });
      copy.catch(() => undefined);
      failed.catch(() => undefined);
      try {
        await watchdog.race(Promise.race([copy, failed]));
      } finally {
        watchdog.stop();
      }
      const [signature] = decrypted.signatures;
      if (signature === undefined) return { kind: 'quarantine', reason: 'unsigned: the OpenPGP message carries no signature' };
      await signature.verified;
      const packet = (await signature.signature).packets[0];
      if (packet?.hashAlgorithm === enums.hash.sha1) legacyUsed = ['a SHA-1 message signature'];
    } catch (err) {
      return { kind: 'quarantine', reason: pgpReason(err as Error) };
    } finally {
      armored.destroy();
      await sink.close();
    }
  } finally {
    await raw.close();
  }
  const content = await open(contentFile, 'r');
  try {
    const outcome = await readMixed(content, { start: 0, end: (await content.stat()).size }, req);
    if (outcome.kind === 'verified' && setPosition !== null && (setPosition.setId !== outcome.manifest.sendId || setPosition.part !== outcome.manifest.part || setPosition.parts !== outcome.manifest.parts)) {
      return { kind: 'quarantine', reason: 'the X-TELEMEDICINE set headers do not match the signed manifest' };
    }
    return legacyUsed.length === 0 ? outcome : { ...outcome, legacyUsed };
  } finally {
    await content.close();
  }
}

/** openpgp's message, said for an admin: which check failed. */
function pgpReason(err: Error): string {
  const m = err.message;
  if (/not signed/i.test(m)) return 'unsigned: the OpenPGP message carries no signature';
  if (/Could not find signing key/i.test(m)) return `signed by a key other than the partner's pinned key (${m})`;
  if (/Session key decryption failed|No decryption key|decryption key/i.test(m)) return `not encrypted to our key, or not decryptable with it (${m})`;
  if (/hash algorithm|Insecure/i.test(m)) return `refused by the strict OpenPGP rules (${m}); an admin may allow the partner's legacy key (legacy.sha1, legacy.oldKeyTypes)`;
  if (/Signed digest did not match|signature/i.test(m)) return `bad signature: the content was changed or the signature is invalid (${m})`;
  if (/Modification detected|authenticat|MDC|stopped making sense/i.test(m)) return `the encrypted data was tampered with (${m})`;
  return `the OpenPGP message cannot be opened: ${m}`;
}
