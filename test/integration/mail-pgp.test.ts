import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { GatewayError } from '../../src/domain/errors.ts';
import { readMixed, type ReadOutcome } from '../../src/mail/message-reader.ts';
import { buildPgpMessage } from '../../src/mail/pgp-builder.ts';
import { loadOpenPgpIdentities, type OpenPgpIdentity } from '../../src/mail/pgp-identity.ts';
import { readPartnerKey } from '../../src/mail/pgp-keys.ts';
import { pgpConfig, strictAllowance, type KeyAllowance, type LegacyAllowance } from '../../src/mail/pgp-policy.ts';
import { readPgpMessage } from '../../src/mail/pgp-reader.ts';
import type { MailboxConfig } from '../../src/mail/identity.ts';
import { armoredOf, GpgHome, pgpMimeMail } from '../support/gpg.ts';
import { mixedContent, testDocumentStudy } from '../support/mail-tools.ts';
import { tinyPdf } from '../../fixtures/pdf.ts';
import { tempDir } from '../support/temp.ts';

// Interop of the OpenPGP (PGP/MIME) path with GnuPG, no mail servers: what we build, gpg decrypts
// and verifies; what gpg makes (sign and encrypt), we accept; and what must be refused is.
const dir = tempDir('gw-mail-pgp-');
const files = [randomBytes(300_001), randomBytes(57 * 3), Buffer.alloc(0), randomBytes(1)];
const filePaths = files.map((f, i) => {
  const p = path.join(dir, `in-${i}.bin`);
  writeFileSync(p, f);
  return p;
});
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// Our side: a key made by gpg, exported passphrase-protected, opened the way the gateway opens it.
const ourHome = new GpgHome();
const ourFpr = ourHome.generate('b@partner-b.test', { passphrase: 'our secret' });
const ourKeyFile = path.join(dir, 'our-key.asc');
writeFileSync(ourKeyFile, ourHome.secretKey(ourFpr, 'our secret'));
const mailboxConfig = (openpgp: { key: string; passphrase: string }, name = 'main'): MailboxConfig =>
  ({ name, address: 'b@partner-b.test', openpgp }) as unknown as MailboxConfig;
const ours = (await loadOpenPgpIdentities([mailboxConfig({ key: ourKeyFile, passphrase: 'our secret' })])).get('main') as OpenPgpIdentity;

// The partner: GnuPG with an RSA key, knowing our public key.
const partnerHome = new GpgHome();
const partnerFpr = partnerHome.generate('a@site-a.test', { algo: 'rsa3072' });
partnerHome.run(['--passphrase', '', '--quick-add-key', partnerFpr, 'rsa3072', 'encr', 'never']);
partnerHome.import(ours.armoredPublicKey);
partnerHome.run(['--quick-lsign-key', ourFpr]);
const partnerKey = async (allow: KeyAllowance = strictAllowance, armored = partnerHome.publicKey(partnerFpr)) => {
  const read = await readPartnerKey(armored, allow, new Date());
  assert.deepEqual(read.issues, []);
  return { key: read.key as NonNullable<typeof read.key>, config: pgpConfig(allow), inlinePgp: (allow as Partial<LegacyAllowance>).inlinePgp === true };
};

// A stranger: signs with a key nobody pinned.
const strangerHome = new GpgHome();
const strangerFpr = strangerHome.generate('mallory@evil.test');
strangerHome.import(ours.armoredPublicKey);

let n = 0;
async function read(mail: string, allow: LegacyAllowance = strictAllowance, stallMs?: number, maxContentBytes?: number): Promise<ReadOutcome & { legacyUsed?: string[] }> {
  const rawPath = path.join(dir, `received-${n}.eml`);
  await writeFile(rawPath, mail);
  return readPgpMessage({ rawPath, workDir: path.join(dir, `work-${n++}`), ours, partner: await partnerKey(allow), limits: { maxParts: 1000, ...(maxContentBytes === undefined ? {} : { maxContentBytes }) }, ...(stallMs === undefined ? {} : { stallMs }) });
}

async function assertFiles(outcome: ReadOutcome): Promise<void> {
  assert.equal(outcome.kind, 'verified', JSON.stringify(outcome));
  if (outcome.kind !== 'verified') return;
  assert.equal(outcome.files.length, files.length);
  for (const [i, f] of outcome.files.entries()) assert.ok((await readFile(f.path)).equals(files[i] as Buffer), `file ${i} differs`);
}

/** A PGP/MIME mail whose OpenPGP message gpg made in `home` with these arguments over `content`. */
function gpgMail(home: GpgHome, args: readonly string[], content: string, extra: readonly string[] = []): string {
  const armored = home.run(['--trust-model', 'always', '--armor', ...args], content).toString();
  return pgpMimeMail(armored, { from: 'a@site-a.test', to: 'b@partner-b.test', messageId: `gpg-${n}@site-a.test`, extra });
}


const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

/**
 * RFC 3156 6.1 as a partner's GnuPG-based software makes it: the canonical multipart/mixed entity
 * signed detached (`signer`), wrapped in multipart/signed, that entity encrypted to us by `home`.
 * `alter` changes the signed entity after signing (tampering); `signArgs` adds gpg options.
 */
function nestedMail(options: { home?: GpgHome; signer?: { home: GpgHome; fpr: string }; entity?: string; signArgs?: readonly string[]; alter?: (signed: string) => string; encryptArgs?: readonly string[] } = {}): string {
  const entity = options.entity ?? crlf(mixedContent(files));
  const signer = options.signer ?? { home: partnerHome, fpr: partnerFpr };
  const signature = signer.home.run(['--armor', '--detach-sign', '-u', signer.fpr, ...(options.signArgs ?? [])], entity).toString();
  let signed = crlf(`Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="sig-b"\n\nThis is an OpenPGP/MIME signed message (RFC 3156).\n--sig-b\n`) + entity + crlf(`\n--sig-b\nContent-Type: application/pgp-signature; name="signature.asc"\nContent-Description: OpenPGP digital signature\n\n${signature.trim()}\n--sig-b--\n`);
  signed = options.alter?.(signed) ?? signed;
  return gpgMail(options.home ?? partnerHome, ['--encrypt', '-r', ourFpr, ...(options.encryptArgs ?? [])], signed);
}

/** Inline PGP: the armored message as the whole text/plain body, as old mail plug-ins send it. */
function inlineMail(armored: string, options: { before?: string; after?: string; headers?: readonly string[] } = {}): string {
  return [
    'From: a@site-a.test',
    'To: b@partner-b.test',
    'Subject: DICOM',
    `Message-ID: <inline-${n}@site-a.test>`,
    'MIME-Version: 1.0',
    ...(options.headers ?? ['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit']),
    '',
    `${options.before ?? ''}${armored.trim()}${options.after ?? ''}`,
    '',
  ].join('\r\n');
}

describe('OpenPGP (PGP/MIME) interop with GnuPG', () => {
  test('a mail we build decrypts and verifies with gpg and holds the files and the manifest', async () => {
    // We send to the partner: our key signs, theirs encrypts. Roles swapped for this direction.
    const outPath = path.join(dir, 'ours.eml');
    const theirs = await readPartnerKey(partnerHome.publicKey(partnerFpr), strictAllowance, new Date());
    await buildPgpMessage({
      files: files.map((f, i) => ({ path: filePaths[i] as string, size: f.length, sha256: sha(f) })),
      sendId: 'send-1',
      part: 1,
      parts: 2,
      from: 'b@partner-b.test',
      to: 'a@site-a.test',
      messageId: 'ours@partner-b.test',
      date: new Date(),
      signer: ours,
      recipient: theirs.key as NonNullable<typeof theirs.key>,
      config: pgpConfig(strictAllowance),
      outPath,
    });
    const mail = await readFile(outPath, 'latin1');
    const head = mail.slice(0, mail.indexOf('\r\n\r\n'));
    assert.match(head, /^Content-Type: multipart\/encrypted; protocol="application\/pgp-encrypted"; boundary=/m);
    assert.match(head, /^X-TELEMEDICINE-SET-ID: send-1\r$/m);
    assert.match(head, /^X-TELEMEDICINE-PART: 1\r$/m);
    assert.match(head, /^X-TELEMEDICINE-PARTS: 2\r$/m);
    assert.match(head, /^Subject: DICOM 1\/2\r$/m);
    assert.match(head, /^Disposition-Notification-To: <b@partner-b.test>\r$/m);
    // 7-bit, CRLF everywhere, lines short.
    assert.ok([...mail].every((c) => c.charCodeAt(0) < 128), 'only 7-bit characters');
    assert.doesNotMatch(mail, /[^\r]\n/);
    assert.ok(mail.split('\r\n').every((l) => l.length <= 998));
    assert.match(mail, /Content-Type: application\/pgp-encrypted\r\n[^]*?\r\nVersion: 1\r\n/);

    const result = partnerHome.status(['--decrypt'], armoredOf(mail));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.status, /DECRYPTION_OKAY/);
    assert.match(result.status, new RegExp(`VALIDSIG ${ourFpr}`));
    assert.match(result.status, /GOODSIG/);
    // What gpg decrypted is the multipart/mixed entity: our own reader finds every file in it.
    const content = path.join(dir, 'ours.content');
    await writeFile(content, result.stdout);
    assert.match(result.stdout.toString('latin1'), /^Content-Type: multipart\/mixed; boundary=/);
    const handle = await open(content, 'r');
    try {
      const outcome = await readMixed(handle, { start: 0, end: result.stdout.length }, { workDir: path.join(dir, 'ours-work'), limits: { maxParts: 100 } });
      await assertFiles(outcome);
      if (outcome.kind === 'verified') assert.deepEqual({ sendId: outcome.manifest.sendId, part: outcome.manifest.part, parts: outcome.manifest.parts }, { sendId: 'send-1', part: 1, parts: 2 });
    } finally {
      await handle.close();
    }
  });

  test('a PGP/MIME mail made with gpg --sign --encrypt is accepted, files byte-identical', async () => {
    const mail = gpgMail(partnerHome, ['--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], mixedContent(files), ['X-TELEMEDICINE-SET-ID: openssl-made', 'X-TELEMEDICINE-PART: 1', 'X-TELEMEDICINE-PARTS: 1']);
    await assertFiles(await read(mail));
  });

  test('PDF documents in a PGP/MIME mail made with gpg are read with their title and study', async () => {
    const pdfs = [tinyPdf('pgp report')];
    const mail = gpgMail(partnerHome, ['--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], mixedContent(files, { pdfs }));
    const outcome = await read(mail);
    await assertFiles(outcome);
    if (outcome.kind !== 'verified') return;
    assert.deepEqual(outcome.documents.map((d) => [d.title, d.study.patientId]), [['Befund 1', testDocumentStudy.patientId]]);
    assert.ok((await readFile(outcome.documents[0]?.path as string)).equals(pdfs[0] as Buffer));
  });

  test('a compression bomb: a mail of a few KB that opens to 20 MB is refused at the limit, nothing beyond it written', async () => {
    const zeros = Buffer.alloc(20 * 1024 * 1024);
    const mail = gpgMail(partnerHome, ['--sign', '--encrypt', '-z', '9', '-r', ourFpr, '-u', partnerFpr], mixedContent([zeros]));
    assert.ok(mail.length < 200 * 1024, `the mail is ${mail.length} bytes`);
    const refused = await read(mail, strictAllowance, undefined, 1024 * 1024);
    assert.equal(refused.kind, 'quarantine', JSON.stringify(refused));
    if (refused.kind === 'quarantine') assert.match(refused.reason, /larger than 1048576 bytes \(mail\.maxInboundMb\)/);
    const content = path.join(dir, `work-${n - 1}`, 'content.mime');
    assert.ok((await stat(content)).size <= 1024 * 1024, 'no more than the limit written');
    // Within a limit it fits, the same mail opens: the limit is what refused it.
    const accepted = await read(mail, strictAllowance, undefined, 64 * 1024 * 1024);
    assert.equal(accepted.kind, 'verified', JSON.stringify(accepted).slice(0, 300));
  });

  test('refusals: each quarantined with its reason', async () => {
    const content = mixedContent(files);
    const cases: [string, string, RegExp][] = [
      ['unsigned', gpgMail(partnerHome, ['--encrypt', '-r', ourFpr], content), /unsigned/],
      ['foreign signer', gpgMail(strangerHome, ['--sign', '--encrypt', '-r', ourFpr, '-u', strangerFpr], content), /other than the partner's pinned key/],
      ['not for us', gpgMail(partnerHome, ['--sign', '--encrypt', '-r', partnerFpr, '-u', partnerFpr], content), /not encrypted to our key/],
      ['only signed', gpgMail(partnerHome, ['--sign', '-u', partnerFpr], content), /cannot be opened|not encrypted|decrypt/i],
      ['SHA-1 signature (strict rules)', gpgMail(partnerHome, ['--digest-algo', 'SHA1', '--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], content), /strict OpenPGP rules.*legacy\.sha1/],
      ['set headers that lie', gpgMail(partnerHome, ['--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], content, ['X-TELEMEDICINE-SET-ID: other', 'X-TELEMEDICINE-PART: 1', 'X-TELEMEDICINE-PARTS: 1']), /set headers do not match/],
      ['S/MIME instead', 'From: a@site-a.test\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\n\nAAAA\n', /not OpenPGP encrypted/],
    ];
    for (const [what, mail, reason] of cases) {
      const outcome = await read(mail);
      assert.equal(outcome.kind, 'quarantine', `${what}: ${JSON.stringify(outcome)}`);
      if (outcome.kind === 'quarantine') assert.match(outcome.reason, reason, what);
    }
    // Tampered: one base64 character of the encrypted data changed.
    const good = gpgMail(partnerHome, ['--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], content);
    const lines = good.split('\n');
    const at = lines.findIndex((l) => l.startsWith('-----BEGIN PGP MESSAGE')) + 10;
    const line = lines[at] as string;
    lines[at] = `${line.slice(0, 20)}${line[20] === 'A' ? 'B' : 'A'}${line.slice(21)}`;
    // openpgp may stop reading such a message without failing: the stall guard ends it (short here).
    const tampered = await read(lines.join('\n'), strictAllowance, 500);
    assert.equal(tampered.kind, 'quarantine', JSON.stringify(tampered));
    // Which check trips depends on where the changed character lands (packet structure, integrity, signature).
    if (tampered.kind === 'quarantine') assert.match(tampered.reason, /tampered|cannot be opened|bad signature|not encrypted to our key|not a readable/);
  });

  test('a SHA-1 signature is accepted only with the partner\'s legacy exception, and said so', async () => {
    const mail = gpgMail(partnerHome, ['--digest-algo', 'SHA1', '--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], mixedContent(files));
    const outcome = await read(mail, { sha1: true, oldKeyTypes: false, inlinePgp: false });
    await assertFiles(outcome);
    assert.deepEqual(outcome.legacyUsed, ['a SHA-1 message signature']);
  });

  test('legacy partner keys (SHA-1 self-signatures, RSA 1024) are refused by default, accepted with the exception', async () => {
    const legacyHome = new GpgHome();
    const sha1Fpr = legacyHome.generate('old@legacy.test', { algo: 'rsa2048', extra: ['--cert-digest-algo', 'SHA1'] });
    legacyHome.run(['--cert-digest-algo', 'SHA1', '--passphrase', '', '--quick-add-key', sha1Fpr, 'rsa2048', 'encr', 'never']);
    const strict = await readPartnerKey(legacyHome.publicKey(sha1Fpr), strictAllowance, new Date());
    assert.ok(strict.issues.some((i) => /SHA-1.*legacy\.sha1/.test(i)), JSON.stringify(strict.issues));
    assert.deepEqual((await readPartnerKey(legacyHome.publicKey(sha1Fpr), { sha1: true, oldKeyTypes: false }, new Date())).issues, []);

    const smallFpr = legacyHome.generate('small@legacy.test', { algo: 'rsa1024' });
    legacyHome.run(['--passphrase', '', '--quick-add-key', smallFpr, 'rsa1024', 'encr', 'never']);
    const weak = await readPartnerKey(legacyHome.publicKey(smallFpr), strictAllowance, new Date());
    assert.ok(weak.issues.some((i) => /RSA with 1024 bits.*legacy\.oldKeyTypes/.test(i)), JSON.stringify(weak.issues));
    assert.deepEqual((await readPartnerKey(legacyHome.publicKey(smallFpr), { sha1: false, oldKeyTypes: true }, new Date())).issues, []);

    assert.match((await readPartnerKey(legacyHome.secretKey(smallFpr, ''), strictAllowance, new Date())).issues.join(), /private key/);
    assert.match((await readPartnerKey('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnonsense\n-----END PGP PUBLIC KEY BLOCK-----', strictAllowance, new Date())).issues.join(), /not a readable OpenPGP key/);
  });

  test('our key: refused unprotected, with a wrong passphrase, or unreadable, naming each field', async () => {
    const plainFile = path.join(dir, 'plain-key.asc');
    const plainHome = new GpgHome();
    const plainFpr = plainHome.generate('plain@site.test');
    writeFileSync(plainFile, plainHome.secretKey(plainFpr, ''));
    await assert.rejects(
      loadOpenPgpIdentities([mailboxConfig({ key: plainFile, passphrase: 'x' }, 'a'), mailboxConfig({ key: ourKeyFile, passphrase: 'wrong' }, 'b'), mailboxConfig({ key: path.join(dir, 'missing.asc'), passphrase: 'x' }, 'c')]),
      (err: unknown) => {
        assert.ok(err instanceof GatewayError);
        const issues = err.issues.map((i) => `${i.path}: ${i.message}`);
        assert.match(issues[0] as string, /^mail\.mailboxes\[0\]\.openpgp\.key: .*not protected by a passphrase/);
        assert.match(issues[1] as string, /^mail\.mailboxes\[1\]\.openpgp\.passphrase: /);
        assert.match(issues[2] as string, /^mail\.mailboxes\[2\]\.openpgp\.key: cannot read .*ENOENT/);
        return true;
      },
    );
  });
});

describe('RFC 3156 6.1: a signed PGP/MIME entity inside the encryption', () => {
  test('made with gpg --detach-sign, then gpg --encrypt: accepted, files byte-identical', async () => {
    const outcome = await read(nestedMail());
    await assertFiles(outcome);
    assert.equal(outcome.legacyUsed, undefined);
  });

  test('also when the decrypted entity has bare LF line ends (binary or text-mode signature)', async () => {
    // The signed part is hashed with CRLF line ends (RFC 3156 5), whatever the decrypted bytes use.
    const toLf = (signed: string): string => signed.replace(/\r\n/g, '\n');
    await assertFiles(await read(nestedMail({ entity: mixedContent(files), signArgs: ['--textmode'], alter: toLf })));
    // A binary signature over the canonical (CRLF) entity, the entity then stored with LF.
    await assertFiles(await read(nestedMail({ alter: toLf })));
  });

  test('and when the partner also signed the OpenPGP message (both signatures checked)', async () => {
    await assertFiles(await read(nestedMail({ encryptArgs: ['--sign', '-u', partnerFpr] })));
    const outcome = await read(nestedMail({ home: strangerHome, encryptArgs: ['--sign', '-u', strangerFpr] }));
    assert.equal(outcome.kind, 'quarantine', JSON.stringify(outcome));
    if (outcome.kind === 'quarantine') assert.match(outcome.reason, /other than the partner's pinned key/);
  });

  test('refusals: each quarantined with its reason', async () => {
    const entity = crlf(mixedContent(files));
    const cases: [string, string, RegExp][] = [
      ['encrypted but unsigned', gpgMail(partnerHome, ['--encrypt', '-r', ourFpr], entity), /^unsigned: the OpenPGP message carries no signature and the decrypted content is multipart\/mixed/],
      ['detached signature by another key', nestedMail({ signer: { home: strangerHome, fpr: strangerFpr } }), /signed by a key other than the partner's pinned key/],
      // One base64 character of the first DICOM part changed after signing.
      ['signed part tampered', nestedMail({ alter: (signed) => signed.replace(/(Content-Transfer-Encoding: base64\r\n\r\n.{10})(.)/, (_, a: string, c: string) => `${a}${c === 'A' ? 'B' : 'A'}`) }), /bad signature/],
      ['a line break added to the signed part', nestedMail({ alter: (signed) => signed.replace('\r\n--XyZ--', '\r\n\r\n--XyZ--') }), /bad signature/],
      ['SHA-1 detached signature (strict rules)', nestedMail({ signArgs: ['--digest-algo', 'SHA1'] }), /strict OpenPGP rules.*legacy\.sha1/],
      ['signature part of another type', nestedMail({ alter: (signed) => signed.replace('Content-Type: application/pgp-signature;', 'Content-Type: application/octet-stream;') }), /not application\/pgp-signature/],
      ['S/MIME protocol inside', nestedMail({ alter: (signed) => signed.replace('protocol="application/pgp-signature"', 'protocol="application/pkcs7-signature"') }), /not PGP\/MIME multipart\/signed/],
      ['garbage for a signature', nestedMail({ alter: (signed) => signed.replace(/-----BEGIN PGP SIGNATURE-----[^]*-----END PGP SIGNATURE-----/, '-----BEGIN PGP SIGNATURE-----\r\n\r\nAAAA\r\n-----END PGP SIGNATURE-----') }), /not a readable OpenPGP signature/],
      ['three parts', nestedMail({ alter: (signed) => signed.replace('--sig-b--', '--sig-b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--sig-b--') }), /multipart\/signed with 3 parts/],
    ];
    for (const [what, mail, reason] of cases) {
      const outcome = await read(mail);
      assert.equal(outcome.kind, 'quarantine', `${what}: ${JSON.stringify(outcome)}`);
      if (outcome.kind === 'quarantine') assert.match(outcome.reason, reason, what);
    }
  });

  test('a SHA-1 detached signature is accepted only with legacy.sha1, and said so', async () => {
    const outcome = await read(nestedMail({ signArgs: ['--digest-algo', 'SHA1'] }), { sha1: true, oldKeyTypes: false, inlinePgp: false });
    await assertFiles(outcome);
    assert.deepEqual(outcome.legacyUsed, ['a SHA-1 message signature']);
  });

  test('tampered encrypted data of a nested mail ends in quarantine (stall guard short here)', async () => {
    const lines = nestedMail().split('\n');
    const at = lines.findIndex((l) => l.startsWith('-----BEGIN PGP MESSAGE')) + 10;
    const line = lines[at] as string;
    lines[at] = `${line.slice(0, 20)}${line[20] === 'A' ? 'B' : 'A'}${line.slice(21)}`;
    const outcome = await read(lines.join('\n'), strictAllowance, 500);
    assert.equal(outcome.kind, 'quarantine', JSON.stringify(outcome));
    if (outcome.kind === 'quarantine') assert.match(outcome.reason, /tampered|cannot be opened|bad signature|not encrypted to our key|not a readable/);
  });
});

describe('inline PGP: only with the partner\'s legacy.inlinePgp exception', () => {
  const inlineAllowed: LegacyAllowance = { sha1: false, oldKeyTypes: false, inlinePgp: true };
  const armored = (): string => partnerHome.run(['--trust-model', 'always', '--armor', '--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], mixedContent(files)).toString();

  test('gpg --sign --encrypt --armor as the text/plain body: accepted with the exception, and said so', async () => {
    const outcome = await read(inlineMail(armored(), { before: '\r\n', after: '\r\n\r\n' }), inlineAllowed);
    await assertFiles(outcome);
    assert.deepEqual(outcome.legacyUsed, ['inline PGP instead of PGP/MIME (legacy.inlinePgp)']);
    // No Content-Type at all is text/plain too (RFC 2045).
    await assertFiles(await read(inlineMail(armored(), { headers: [] }), inlineAllowed));
    // Its plaintext may also be a 6.1 signed entity (encrypted only, the signature detached inside).
    const nested = await read(inlineMail(armoredOf(nestedMail())), inlineAllowed);
    await assertFiles(nested);
    assert.deepEqual(nested.legacyUsed, ['inline PGP instead of PGP/MIME (legacy.inlinePgp)']);
  });

  test('without the exception: quarantined, naming the exception that would accept it', async () => {
    const outcome = await read(inlineMail(armored()));
    assert.equal(outcome.kind, 'quarantine', JSON.stringify(outcome));
    if (outcome.kind === 'quarantine') assert.match(outcome.reason, /^inline PGP .*only with the legacy exception legacy\.inlinePgp$/);
  });

  test('refusals even with the exception: each quarantined with its reason', async () => {
    const content = mixedContent(files);
    const cases: [string, string, RegExp][] = [
      ['unsigned', inlineMail(partnerHome.run(['--trust-model', 'always', '--armor', '--encrypt', '-r', ourFpr], content).toString()), /^unsigned/],
      ['signed by another key', inlineMail(strangerHome.run(['--trust-model', 'always', '--armor', '--sign', '--encrypt', '-r', ourFpr, '-u', strangerFpr], content).toString()), /other than the partner's pinned key/],
      ['clear-signed, not encrypted', inlineMail(partnerHome.run(['--clearsign', '-u', partnerFpr], content).toString()), /clear-signed text: signed but not encrypted/],
      ['other text after the block', inlineMail(armored(), { after: '\r\n\r\nSent from my gateway\r\n' }), /other text follows its END line/],
      ['two armored blocks', inlineMail(`${armored().trim()}\r\n${armored()}`), /more than one armored block/],
      ['quoted-printable', inlineMail(armored(), { headers: ['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable'] }), /quoted-printable body/],
      ['in an attachment type', inlineMail(armored(), { headers: ['Content-Type: application/octet-stream'] }), /inline PGP in a application\/octet-stream body/],
      ['text before the block', inlineMail(armored(), { before: 'Hello\r\n' }), /not OpenPGP encrypted: the mail is text\/plain/],
    ];
    for (const [what, mail, reason] of cases) {
      const outcome = await read(mail, inlineAllowed);
      assert.equal(outcome.kind, 'quarantine', `${what}: ${JSON.stringify(outcome)}`);
      if (outcome.kind === 'quarantine') assert.match(outcome.reason, reason, what);
    }
  });
});
