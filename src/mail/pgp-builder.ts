import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import type { Config, PublicKey } from 'openpgp';
import { boundary, manifestOf, mixedEntity, outerHeaders, type BuiltMessage, type MailContent } from './message-builder.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';
import { telemedicineHeaders } from './telemedicine-headers.ts';
import { pullStream } from './web-stream.ts';

export interface PgpBuildRequest extends MailContent {
  signer: OpenPgpIdentity;
  recipient: PublicKey;
  /** The partner's rules (its legacy exceptions): the key must be usable under them. */
  config: Config;
  /** Extra outer header lines (e.g. the receipt request). */
  extraHeaders?: readonly string[];
}

const crlf = '\r\n';

/**
 * Writes one PGP/MIME mail (RFC 3156 6.2, signed and encrypted in one OpenPGP message): the same
 * multipart/mixed entity as the S/MIME path (manifest and base64 application/dicom parts, CRLF) is
 * the literal data, signed with our key and encrypted to the partner's pinned key, ASCII-armored
 * (7-bit lines) inside multipart/encrypted. Streams from the files to the output file: openpgp
 * signs one-pass and encrypts chunk by chunk, so memory stays a few chunks whatever the study's size.
 */
export async function buildPgpMessage(req: PgpBuildRequest): Promise<BuiltMessage> {
  const manifest = manifestOf(req);
  const hash = createHash('sha256');
  async function* content(): AsyncGenerator<Uint8Array> {
    for await (const chunk of mixedEntity(req, manifest, boundary())) {
      hash.update(chunk);
      yield chunk;
    }
  }
  const message = await openpgp.createMessage({ binary: pullStream(content()) });
  const armored = await openpgp.encrypt({ message, encryptionKeys: req.recipient, signingKeys: req.signer.privateKey, format: 'armored', config: req.config });
  const b = boundary();
  const head = Buffer.from(
    [
      ...outerHeaders(req),
      ...telemedicineHeaders({ setId: req.sendId, part: req.part, parts: req.parts }),
      ...(req.extraHeaders ?? []),
      'MIME-Version: 1.0',
      `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${b}"`,
      '',
      'This is an OpenPGP/MIME encrypted message (RFC 3156).',
      `--${b}`,
      'Content-Type: application/pgp-encrypted',
      'Content-Description: PGP/MIME version identification',
      '',
      'Version: 1',
      '',
      `--${b}`,
      'Content-Type: application/octet-stream; name="encrypted.asc"',
      'Content-Description: OpenPGP encrypted message',
      'Content-Disposition: inline; filename="encrypted.asc"',
      '',
      '',
    ].join(crlf),
  );
  const tail = Buffer.from(`${crlf}--${b}--${crlf}`);
  const out = await open(req.outPath, 'w');
  let size = 0;
  const write = async (chunk: Buffer): Promise<void> => {
    size += chunk.length;
    await out.write(chunk);
  };
  try {
    await write(head);
    // openpgp's armor ends its lines with LF alone; mail wants CRLF.
    for await (const text of armored as unknown as AsyncIterable<string>) await write(Buffer.from(text.replace(/\r?\n/g, crlf), 'latin1'));
    await write(tail);
    await out.sync();
  } finally {
    await out.close();
  }
  return { size, contentDigest: hash.digest('hex') };
}
