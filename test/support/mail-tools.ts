import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Runs `openssl cms` with the arguments; returns stdout; throws with stderr when it fails. */
export function opensslCms(args: readonly string[]): Buffer {
  try {
    return execFileSync('openssl', ['cms', ...args], { stdio: 'pipe', maxBuffer: 1024 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`openssl cms ${args.join(' ')}: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
}

/** The study a PDF of a test mail belongs to, as the manifest carries it. */
export const testDocumentStudy = {
  patientName: 'Müller^Jürgen',
  patientId: 'PAT-PDF-1',
  issuerOfPatientId: '',
  patientBirthDate: '19700101',
  patientSex: 'M',
  studyInstanceUid: '1.2.826.0.1.3680043.2.1125.77.900',
  studyDate: '20261122',
  studyTime: '101500',
  accessionNumber: 'ACC-PDF',
  studyId: '1',
  referringPhysicianName: 'Dr^Weiss',
  studyDescription: 'Befund',
} as const;

/**
 * The content our relay expects, written as another program would: multipart/mixed with a manifest
 * and base64 `application/dicom` parts (and `application/pdf` ones for `pdfs`), LF line ends (openssl
 * canonicalizes when signing). `manifestFiles` and `manifestDocuments` override what the manifest
 * lists (to make it lie).
 */
export function mixedContent(
  files: readonly Buffer[],
  options: { manifestFiles?: { name: string; size: number; sha256: string }[]; set?: { sendId: string; part: number; parts: number }; pdfs?: readonly Buffer[]; manifestDocuments?: unknown[] } = {},
): string {
  const names = files.map((_, i) => `IM${String(i + 1).padStart(6, '0')}.dcm`);
  const manifest = {
    format: 'dicom-gateway-mail/1',
    sendId: options.set?.sendId ?? 'openssl-made',
    part: options.set?.part ?? 1,
    parts: options.set?.parts ?? 1,
    files: options.manifestFiles ?? files.map((f, i) => ({ name: names[i], size: f.length, sha256: createHash('sha256').update(f).digest('hex') })),
    ...(options.pdfs === undefined && options.manifestDocuments === undefined
      ? {}
      : { documents: options.manifestDocuments ?? (options.pdfs ?? []).map((f, i) => ({ name: `DOC${String(i + 1).padStart(6, '0')}.pdf`, size: f.length, sha256: createHash('sha256').update(f).digest('hex'), title: `Befund ${i + 1}`, study: testDocumentStudy })) }),
  };
  const part = (type: string, name: string, f: Buffer): string => `--XyZ\nContent-Type: ${type}; name="${name}"\nContent-Transfer-Encoding: base64\n\n${(f.toString('base64').match(/.{1,76}/g) ?? []).join('\n')}\n`;
  const parts = [...files.map((f, i) => part('application/dicom', names[i] as string, f)), ...(options.pdfs ?? []).map((f, i) => part('application/pdf', `DOC${String(i + 1).padStart(6, '0')}.pdf`, f))];
  return `Content-Type: multipart/mixed; boundary="XyZ"\n\n--XyZ\nContent-Type: application/json; name="manifest.json"\n\n${JSON.stringify(manifest)}\n${parts.join('')}--XyZ--\n`;
}

/**
 * A mail made with `openssl cms -sign` then `-encrypt` (AES-256), as a partner's other software would
 * send. `sign: false` or `encrypt: false` leave out a layer (mails that must be refused).
 */
export function opensslMail(dir: string, options: { content: string; signer?: { cert: string; key: string }; recipient?: string; from: string; to: string; sign?: boolean; encrypt?: boolean; stream?: boolean }): Buffer {
  const f = (n: string): string => path.join(dir, n);
  const tag = Math.random().toString(36).slice(2);
  writeFileSync(f(`${tag}.content`), options.content);
  let current = f(`${tag}.content`);
  if (options.sign !== false) {
    if (options.signer === undefined) throw new Error('a signer is needed');
    opensslCms(['-sign', '-in', current, '-signer', options.signer.cert, '-inkey', options.signer.key, '-md', 'sha256', '-out', f(`${tag}.signed`), ...(options.encrypt === false ? ['-from', options.from, '-to', options.to, '-subject', 'DICOM'] : [])]);
    current = f(`${tag}.signed`);
  }
  if (options.encrypt !== false) {
    if (options.recipient === undefined) throw new Error('a recipient is needed');
    opensslCms(['-encrypt', '-in', current, '-aes256', ...(options.stream === true ? ['-stream'] : []), '-from', options.from, '-to', options.to, '-subject', 'DICOM', '-out', f(`${tag}.mail`), options.recipient]);
    current = f(`${tag}.mail`);
  }
  const mail = readFileSync(current);
  return options.encrypt === false && options.sign === false ? Buffer.concat([Buffer.from(`From: ${options.from}\nTo: ${options.to}\nSubject: DICOM\nMIME-Version: 1.0\n`), mail]) : mail;
}
