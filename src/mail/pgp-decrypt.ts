import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { enums } from 'openpgp';
import type { Config, PublicKey } from 'openpgp';
import { fileSink } from './message-reader.ts';
import type { Range } from './mime-file.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';

export const defaultStallMs = 60_000;

export interface Watchdog {
  touch: () => void;
  race: <T>(p: Promise<T>) => Promise<T>;
  stop: () => void;
}

/**
 * openpgp (6.3) can stop reading a streamed message whose encrypted packets decrypt to garbage (a
 * tampered body) without ever settling its promises. Streaming keeps memory flat for big studies, so
 * instead of feeding it the whole mail, a read that stops moving is abandoned as unreadable.
 */
export function stallWatchdog(stallMs: number): Watchdog {
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

export interface PgpDecryptRequest {
  rawPath: string;
  /** Where the armored OpenPGP message lies in the raw mail. */
  armored: Range;
  outFile: string;
  ours: OpenPgpIdentity;
  partner: { key: PublicKey; config: Config };
  stallMs: number;
  /** The decrypted (and decompressed) content may be at most this long. */
  maxBytes?: number;
}

/** The content opened up to more than the limit: a compression bomb, or a mail larger than we take. */
class ContentTooLarge extends Error {}

/**
 * `signed`: the OpenPGP message carried signatures (RFC 3156 6.2), every one verified against the
 * partner's key; false: it was only encrypted, and the content must prove itself (6.1).
 */
export type PgpDecryptOutcome = { kind: 'decrypted'; signed: boolean; legacyUsed: string[] } | { kind: 'quarantine'; reason: string };

/**
 * Decrypts one armored OpenPGP message to a file as it reads: the plaintext is released before the
 * end of the stream (it goes to disk, not anywhere it could be used) and only looked at once the
 * integrity check and any signatures at the end have passed, so memory stays a few chunks for any size.
 */
export async function decryptToFile(req: PgpDecryptRequest): Promise<PgpDecryptOutcome> {
  // Node's own stream over the armored text, as the strings openpgp reads: it ends cleanly when
  // openpgp gives up on bad input mid-way (an iterator-fed stream left openpgp waiting there).
  const armored = createReadStream(req.rawPath, { start: req.armored.start, end: req.armored.end - 1, encoding: 'latin1', highWaterMark: 256 * 1024 });
  let message: openpgp.Message<ReadableStream<Uint8Array>>;
  try {
    // Counted by chunks: the default strategy sizes chunks by byteLength, which strings lack.
    message = await openpgp.readMessage({ armoredMessage: Readable.toWeb(armored, { strategy: { highWaterMark: 4, size: () => 1 } }) as unknown as ReadableStream<string> });
  } catch (err) {
    armored.destroy();
    return { kind: 'quarantine', reason: `not a readable OpenPGP message: ${(err as Error).message}` };
  }
  const sink = await fileSink(req.outFile);
  try {
    const watchdog = stallWatchdog(req.stallMs);
    armored.on('data', watchdog.touch);
    // Not expectSigned: a 6.1 message is only encrypted, its signature is inside. Signatures that are
    // there are all checked below, and unsigned content is refused by the caller unless it is signed MIME.
    const decrypted = await watchdog.race(
      openpgp.decrypt({
        message,
        decryptionKeys: req.ours.privateKey,
        verificationKeys: req.partner.key,
        format: 'binary',
        config: { ...req.partner.config, allowUnauthenticatedStream: true },
      }),
    );
    // Errors of the integrity check or the signature surface at the stream's end, or (garbage
    // inside the encryption) only in the signature's promises while the data waits for input that
    // openpgp no longer reads: whichever fails first ends the read.
    const maxBytes = req.maxBytes ?? Number.POSITIVE_INFINITY;
    let written = 0;
    const copy = (async () => {
      for await (const chunk of decrypted.data as unknown as AsyncIterable<Uint8Array>) {
        watchdog.touch();
        written += chunk.length;
        // Stopped at the limit, not after: the bytes past it are never written.
        if (written > maxBytes) throw new ContentTooLarge(`the decrypted content is larger than ${maxBytes} bytes (mail.maxInboundMb): refused unread, a compression bomb or a mail too large`);
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
    return { kind: 'decrypted', signed: decrypted.signatures.length > 0, legacyUsed: await checkSignatures(decrypted.signatures) };
  } catch (err) {
    return { kind: 'quarantine', reason: err instanceof ContentTooLarge ? err.message : pgpReason(err as Error) };
  } finally {
    armored.destroy();
    await sink.close();
  }
}

/** Every signature must verify; returns what of them needed a legacy exception. */
export async function checkSignatures(signatures: Awaited<ReturnType<typeof openpgp.verify>>['signatures']): Promise<string[]> {
  let sha1 = false;
  for (const s of signatures) {
    await s.verified;
    if ((await s.signature).packets[0]?.hashAlgorithm === enums.hash.sha1) sha1 = true;
  }
  return sha1 ? ['a SHA-1 message signature'] : [];
}

/** openpgp's message, said for an admin: which check failed. */
export function pgpReason(err: Error): string {
  const m = err.message;
  if (/not signed/i.test(m)) return 'unsigned: the OpenPGP message carries no signature';
  if (/Could not find signing key/i.test(m)) return `signed by a key other than the partner's pinned key (${m})`;
  if (/Session key decryption failed|No decryption key|decryption key/i.test(m)) return `not encrypted to our key, or not decryptable with it (${m})`;
  if (/hash algorithm|Insecure/i.test(m)) return `refused by the strict OpenPGP rules (${m}); an admin may allow the partner's legacy key (legacy.sha1, legacy.oldKeyTypes)`;
  if (/Signed digest did not match|signature/i.test(m)) return `bad signature: the content was changed or the signature is invalid (${m})`;
  if (/Modification detected|authenticat|MDC|stopped making sense/i.test(m)) return `the encrypted data was tampered with (${m})`;
  return `the OpenPGP message cannot be opened: ${m}`;
}
