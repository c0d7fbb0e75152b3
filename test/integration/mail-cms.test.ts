import assert from 'node:assert/strict';
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cmsCertificate } from '../../src/mail/certificate.ts';
import { buildMessage } from '../../src/mail/message-builder.ts';
import { readMailHeaders, readMessage, type ReadOutcome } from '../../src/mail/message-reader.ts';
import { buildReceipt, readReceipt } from '../../src/mail/receipt.ts';
import { makeMailCertificates } from '../support/mail-servers.ts';
import { mixedContent, opensslCms, opensslMail, testDocumentStudy } from '../support/mail-tools.ts';
import { tinyPdf } from '../../fixtures/pdf.ts';
import { tempDir } from '../support/temp.ts';

// Interop of the S/MIME layers with openssl, no mail servers: what we build, openssl decrypts and
// verifies; what openssl builds (sign, then encrypt), we accept; and what must be refused is.
const certs = makeMailCertificates();
const dir = tempDir('gw-mail-cms-');
const files = [randomBytes(300_001), randomBytes(57 * 3), Buffer.alloc(0), randomBytes(1)];
const filePaths = files.map((f, i) => {
  const p = path.join(dir, `in-${i}.bin`);
  writeFileSync(p, f);
  return p;
});
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const key = (file: string) => createPrivateKey(readFileSync(file));
const cert = (file: string) => cmsCertificate(readFileSync(file));

const pdfs = [tinyPdf('report'), tinyPdf('referral letter')];
const pdfPaths = pdfs.map((f, i) => {
  const p = path.join(dir, `doc-${i}.pdf`);
  writeFileSync(p, f);
  return p;
});

async function build(name: string, options: { recipient?: string; documents?: boolean } = {}): Promise<string> {
  const outPath = path.join(dir, `${name}.eml`);
  await buildMessage({
    files: files.map((f, i) => ({ path: filePaths[i] as string, size: f.length, sha256: sha(f) })),
    ...(options.documents === true ? { documents: pdfs.map((f, i) => ({ path: pdfPaths[i] as string, size: f.length, sha256: sha(f), title: `Befund ${i + 1}`, study: testDocumentStudy })) } : {}),
    sendId: 'send-1',
    part: 1,
    parts: 1,
    from: 'a@site-a.test',
    to: 'b@partner-b.test',
    messageId: `${name}@site-a.test`,
    date: new Date(),
    signer: { certificate: cert(certs.smimeA.cert), key: key(certs.smimeA.key) },
    recipient: cert(options.recipient ?? certs.smimeB.cert),
    outPath,
  });
  return outPath;
}

let n = 0;
function read(rawPath: string, partnerCert: string | null = certs.smimeA.cert, now = new Date(), maxParts = 1000): Promise<ReadOutcome> {
  return readMessage({
    rawPath,
    workDir: path.join(dir, `work-${n++}`),
    ours: { certificate: cert(certs.smimeB.cert), key: key(certs.smimeB.key) },
    partnerCertificate: partnerCert === null ? undefined : cert(partnerCert),
    now,
    limits: { maxParts },
  });
}

function assertFiles(outcome: ReadOutcome): void {
  assert.equal(outcome.kind, 'verified', JSON.stringify(outcome));
  if (outcome.kind !== 'verified') return;
  assert.equal(outcome.files.length, files.length);
  outcome.files.forEach((f, i) => assert.ok(readFileSync(f.path).equals(files[i] as Buffer), `file ${i} differs`));
}

function mailOf(content: string, options: { sign?: boolean; encrypt?: boolean; signer?: { cert: string; key: string }; recipient?: string; stream?: boolean } = {}): string {
  const p = path.join(dir, `openssl-${n++}.eml`);
  writeFileSync(p, opensslMail(dir, { content, signer: certs.smimeA, recipient: certs.smimeB.cert, from: 'a@site-a.test', to: 'b@partner-b.test', ...options }));
  return p;
}

describe('S/MIME interop with openssl', () => {
  test('a mail we build decrypts and verifies with openssl cms, and holds the files and the manifest', async () => {
    const mail = await build('ours');
    const text = readFileSync(mail, 'latin1');
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    assert.match(head, /Content-Type: application\/pkcs7-mime; smime-type=enveloped-data/);
    assert.match(head, /Subject: DICOM 1\/1/);
    assert.match(head, /Disposition-Notification-To: <a@site-a.test>/);
    const decrypted = path.join(dir, 'ours.dec');
    opensslCms(['-decrypt', '-in', mail, '-recip', certs.smimeB.cert, '-inkey', certs.smimeB.key, '-out', decrypted]);
    const inner = readFileSync(decrypted, 'latin1');
    assert.match(inner, /^Content-Type: multipart\/signed; protocol="application\/pkcs7-signature"; micalg="sha-256"/);
    const verified = path.join(dir, 'ours.verified');
    opensslCms(['-verify', '-in', decrypted, '-CAfile', certs.ca.cert, '-out', verified]);
    const content = readFileSync(verified, 'latin1');
    assert.match(content, /^Content-Type: multipart\/mixed/);
    const manifest = JSON.parse(/\{"format".*\}/.exec(content)?.[0] ?? '{}') as { files: { sha256: string; size: number }[] };
    assert.deepEqual(manifest.files.map((f) => f.sha256), files.map(sha));
    assert.equal((content.match(/Content-Type: application\/dicom/g) ?? []).length, files.length);
    // Signed with SHA-256 and encrypted with AES-256.
    const cmsDump = opensslCms(['-cmsout', '-print', '-in', mail, '-inform', 'SMIME']).toString();
    assert.match(cmsDump, /aes-256-cbc/);
    assert.deepEqual(await readMailHeaders(mail), { messageId: 'ours@site-a.test', from: 'a@site-a.test', contentType: 'application/pkcs7-mime' });
    assertFiles(await read(mail));
  });

  test('mails made with openssl cms -sign then -encrypt are accepted (DER and streamed BER)', async () => {
    assertFiles(await read(mailOf(mixedContent(files))));
    assertFiles(await read(mailOf(mixedContent(files), { stream: true })));
  });

  test('PDF documents: application/pdf parts openssl sees as they were sent; read back with their title and study', async () => {
    const mail = await build('with-documents', { documents: true });
    const decrypted = path.join(dir, 'with-documents.dec');
    opensslCms(['-decrypt', '-in', mail, '-recip', certs.smimeB.cert, '-inkey', certs.smimeB.key, '-out', decrypted]);
    const content = opensslCms(['-verify', '-in', decrypted, '-CAfile', certs.ca.cert]).toString('latin1');
    // A partner's mail client shows the PDFs as attachments: base64 parts of their own type.
    const parts = [...content.matchAll(/Content-Type: application\/pdf; name="(DOC\d{6}\.pdf)"\r?\nContent-Transfer-Encoding: base64\r?\nContent-Disposition: attachment; filename="DOC\d{6}\.pdf"\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/g)];
    assert.deepEqual(parts.map((m) => m[1]), ['DOC000001.pdf', 'DOC000002.pdf']);
    parts.forEach((m, i) => assert.ok(Buffer.from(m[2] as string, 'base64').equals(pdfs[i] as Buffer), `PDF ${i} differs`));
    const outcome = await read(mail);
    assert.equal(outcome.kind, 'verified', JSON.stringify(outcome));
    if (outcome.kind !== 'verified') return;
    assertFiles(outcome);
    assert.deepEqual(outcome.documents.map((d) => [d.title, d.study.patientName, d.study.studyInstanceUid]), [['Befund 1', 'Müller^Jürgen', testDocumentStudy.studyInstanceUid], ['Befund 2', 'Müller^Jürgen', testDocumentStudy.studyInstanceUid]]);
    outcome.documents.forEach((d, i) => assert.ok(readFileSync(d.path).equals(pdfs[i] as Buffer)));
    // Made by openssl, as another program would send them: accepted the same.
    const other = await read(mailOf(mixedContent(files, { pdfs })));
    assert.equal(other.kind, 'verified', JSON.stringify(other));
    if (other.kind === 'verified') assert.deepEqual(other.documents.map((d) => readFileSync(d.path)), pdfs);
  });

  test('refusals: each with its reason, no files', async () => {
    const cases: { name: string; mail: () => Promise<string> | string; partner?: string | null; now?: Date; maxParts?: number; reason: RegExp }[] = [
      { name: 'signed by someone else', mail: () => mailOf(mixedContent(files), { signer: certs.smimeOther }), reason: /certificate other than the partner's|unknown signer/ },
      { name: 'wrong pinned certificate', mail: () => build('ours-2'), partner: certs.smimeOther.cert, reason: /other than the partner's pinned/ },
      { name: 'unsigned', mail: () => mailOf(mixedContent(files), { sign: false }), reason: /^unsigned/ },
      { name: 'unencrypted', mail: () => mailOf(mixedContent(files), { encrypt: false }), reason: /^not encrypted/ },
      { name: 'plain', mail: () => mailOf(mixedContent(files), { encrypt: false, sign: false }), reason: /^not encrypted/ },
      { name: 'encrypted for another', mail: () => build('not-ours', { recipient: certs.smimeOther.cert }), reason: /not encrypted for our certificate/ },
      { name: 'unknown sender', mail: () => build('ours-3'), partner: null, reason: /unknown sender/ },
      { name: 'expired partner certificate', mail: () => mailOf(mixedContent(files), { signer: { cert: certs.smimeAExpired.cert, key: certs.smimeAExpired.key } }), partner: certs.smimeAExpired.cert, reason: /not valid now/ },
      { name: 'lying manifest', mail: () => mailOf(mixedContent(files, { manifestFiles: files.map((f, i) => ({ name: `IM00000${i + 1}.dcm`, size: f.length, sha256: sha(randomBytes(4)) })) })), reason: /does not match the manifest/ },
      // Hostile mail: a part name that is a path, more parts than allowed, a multipart without its end.
      { name: 'path in a part name', mail: () => mailOf(mixedContent(files).replace(/IM000001\.dcm/g, '../../IM000001.dcm')), reason: /invalid manifest: files\.0\.name/ },
      { name: 'too many parts', mail: () => mailOf(mixedContent(files)), maxParts: 3, reason: /more than 3 parts/ },
      { name: 'a PDF the manifest does not list', mail: () => mailOf(mixedContent(files, { pdfs, manifestDocuments: [] })), reason: /lists 0 documents, the mail holds 2/ },
      { name: 'a PDF that differs from the manifest', mail: () => mailOf(mixedContent(files, { pdfs: [pdfs[0] as Buffer], manifestDocuments: [{ name: 'DOC000001.pdf', size: (pdfs[0] as Buffer).length, sha256: sha(randomBytes(4)), title: 'x', study: testDocumentStudy }] })), reason: /DOC000001\.pdf does not match the manifest/ },
      { name: 'a PDF named as a path', mail: () => mailOf(mixedContent(files, { pdfs }).replace(/DOC000001\.pdf/g, '../DOC000001.pdf')), reason: /invalid manifest: documents\.0\.name/ },
      { name: 'a document study without a UID', mail: () => mailOf(mixedContent(files, { manifestDocuments: [{ name: 'DOC000001.pdf', size: 1, sha256: sha(Buffer.from('x')), title: 'x', study: { ...testDocumentStudy, studyInstanceUid: 'not a uid' } }], pdfs: [Buffer.from('x')] })), reason: /invalid manifest: documents\.0\.study\.studyInstanceUid/ },
      { name: 'no closing boundary', mail: () => mailOf(mixedContent(files).replace('--XyZ--', '--XyZ-')), reason: /boundary/ },
      {
        name: 'tampered body',
        mail: async () => {
          const p = await build('tampered');
          const buf = readFileSync(p);
          const at = buf.length - 2000; // inside the encrypted content, before the last blocks
          buf[at] = buf[at] === 0x41 ? 0x42 : 0x41;
          writeFileSync(p, buf);
          return p;
        },
        reason: /altered|does not decrypt|boundary|base64|malformed|header/,
      },
    ];
    for (const c of cases) {
      const outcome = await read(await c.mail(), c.partner === undefined ? certs.smimeA.cert : c.partner, c.now, c.maxParts);
      assert.equal(outcome.kind, 'quarantine', `${c.name}: ${JSON.stringify(outcome)}`);
      if (outcome.kind === 'quarantine') assert.match(outcome.reason, c.reason, c.name);
    }
  });

  test('receipts: signed by us, verified by openssl; read back only with the signer\'s certificate', async () => {
    const file = path.join(dir, 'receipt.eml');
    writeFileSync(file, buildReceipt({ from: 'b@partner-b.test', to: 'a@site-a.test', originalMessageId: 'x.1@site-a.test', messageId: 'r1@partner-b.test', date: new Date(), signer: { certificate: cert(certs.smimeB.cert), key: key(certs.smimeB.key) } }));
    const content = opensslCms(['-verify', '-in', file, '-CAfile', certs.ca.cert]).toString();
    assert.match(content, /Original-Message-ID: <x\.1@site-a\.test>/);
    assert.deepEqual(await readReceipt(file, cert(certs.smimeB.cert), new Date()), { kind: 'receipt', originalMessageId: 'x.1@site-a.test' });
    const forged = await readReceipt(file, cert(certs.smimeOther.cert), new Date());
    assert.equal(forged.kind, 'quarantine');
  });
});
