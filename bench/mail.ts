import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, tempDir, type Measurement, type Workload } from './support.ts';

const MiB = 1024 * 1024;
const fileCount = 100;
const fileSize = 2 * MiB;

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

function certificates(dir: string): Record<'ca' | 'a' | 'b', { cert: string; key: string }> {
  const f = (n: string): string => path.join(dir, n);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Bench CA']);
  for (const n of ['a', 'b']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${n}.key`), '-out', f(`${n}.csr`), '-subj', `/CN=${n}`]);
    openssl(['x509', '-req', '-in', f(`${n}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${n}.crt`), '-days', '2']);
  }
  return { ca: { cert: f('ca.crt'), key: f('ca.key') }, a: { cert: f('a.crt'), key: f('a.key') }, b: { cert: f('b.crt'), key: f('b.key') } };
}

/**
 * The same content as a MIME entity for openssl (multipart/mixed of base64 parts), written piece by
 * piece; `manifest` puts our manifest first (for mails that our reader must accept).
 */
function mixedFile(files: readonly string[], out: string, manifest = false): void {
  const fd = openSync(out, 'w');
  writeSync(fd, 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n');
  if (manifest) {
    const entries = files.map((file, i) => {
      const bytes = readFileSync(file);
      return { name: `IM${String(i + 1).padStart(6, '0')}.dcm`, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    });
    writeSync(fd, `--B\r\nContent-Type: application/json; name="manifest.json"\r\n\r\n${JSON.stringify({ format: 'dicom-gateway-mail/1', sendId: 'nested', part: 1, parts: 1, files: entries })}\r\n`);
  }
  for (const [i, file] of files.entries()) {
    writeSync(fd, `--B\r\nContent-Type: application/dicom; name="IM${String(i + 1).padStart(6, '0')}.dcm"\r\nContent-Transfer-Encoding: base64\r\n\r\n`);
    writeSync(fd, `${(readFileSync(file).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\r\n`, null, 'latin1');
  }
  writeSync(fd, '--B--\r\n');
  closeSync(fd);
}

/** Runs a command under GNU time; returns wall ms and its peak RSS in bytes. */
function measured(program: string, args: readonly string[]): Promise<{ ms: number; peakRss: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', program, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${program} exited with ${code}: ${stderr}`));
      else resolve({ ms, peakRss: Number(stderr.trim().split('\n').at(-1)) * 1024 });
    });
  });
}

function ours(args: readonly string[], child = './mail-build.ts'): Promise<{ ms: number; peakRss: number; rssBefore: number }> {
  // A child script and its arguments; its stdout is one JSON line of figures.
  const script = fileURLToPath(new URL(child, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`mail-build exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as { ms: number; peakRss: number; rssBefore: number });
    });
  });
}

/**
 * An RFC 3156 6.1 mail as GnuPG-based partner software makes it: the multipart/mixed entity signed
 * detached by A, wrapped in multipart/signed, that encrypted (only) to B, in multipart/encrypted.
 * Joined with `cat` so that the 270 MB entity never passes through this process.
 */
function nestedMail(gpg: (args: readonly string[]) => Buffer, dir: string, files: readonly string[]): void {
  const f = (n: string): string => path.join(dir, n);
  mixedFile(files, f('nested.mime'), true);
  gpg(['--passphrase', 'bench', '-u', 'a@site-a.test', '--armor', '--detach-sign', '-o', f('nested.sig'), f('nested.mime')]);
  writeFileSync(f('signed.head'), 'Content-Type: multipart/signed; micalg=pgp-sha512; protocol="application/pgp-signature"; boundary="S"\r\n\r\n--S\r\n');
  writeFileSync(f('signed.tail'), `\r\n--S\r\nContent-Type: application/pgp-signature\r\n\r\n${readFileSync(f('nested.sig'), 'latin1').replace(/\r?\n/g, '\r\n')}\r\n--S--\r\n`);
  execFileSync('sh', ['-c', 'cat "$1" "$2" "$3" > "$4"', 'sh', f('signed.head'), f('nested.mime'), f('signed.tail'), f('signed.mime')]);
  gpg(['-z', '0', '-r', 'b@partner-b.test', '--armor', '--encrypt', '-o', f('nested.asc'), f('signed.mime')]);
  rmSync(f('signed.mime'));
  writeFileSync(f('nested.head'), ['From: a@site-a.test', 'To: b@partner-b.test', 'Subject: DICOM', 'Message-ID: <nested@site-a.test>', 'MIME-Version: 1.0', 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="E"', '', '--E', 'Content-Type: application/pgp-encrypted', '', 'Version: 1', '', '--E', 'Content-Type: application/octet-stream', '', ''].join('\r\n'));
  writeFileSync(f('nested.tail'), '\r\n--E--\r\n');
  execFileSync('sh', ['-c', 'cat "$1" "$2" "$3" > "$4"', 'sh', f('nested.head'), f('nested.asc'), f('nested.tail'), f('nested.eml')]);
}

/**
 * The OpenPGP path on the same study: our PGP/MIME mail (sign + encrypt, armored) vs `gpg --sign
 * --encrypt --armor` of the same multipart/mixed entity (compression off, as ours), and opening
 * it (decrypt + verify + manifest + decode) vs `gpg --decrypt`. Keys: RSA 3072 made by gpg.
 */
async function pgpRounds(ctx: { log: (line: string) => void }, dir: string, studyDir: string, rounds: number): Promise<Measurement[]> {
  const home = path.join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpg = (args: readonly string[]): Buffer => execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--trust-model', 'always', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    for (const [uid, pass] of [['a@site-a.test', 'bench'], ['b@partner-b.test', 'bench-b']] as const) {
      gpg(['--passphrase', pass, '--quick-gen-key', `Bench <${uid}>`, 'rsa3072', 'sign', 'never']);
      const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys', uid]).toString())?.[1] ?? '';
      gpg(['--passphrase', pass, '--quick-add-key', fpr, 'rsa3072', 'encr', 'never']);
    }
    const f = (n: string): string => path.join(dir, n);
    writeFileSync(f('a-secret.asc'), gpg(['--passphrase', 'bench', '--armor', '--export-secret-keys', 'a@site-a.test']));
    writeFileSync(f('b-secret.asc'), gpg(['--passphrase', 'bench-b', '--armor', '--export-secret-keys', 'b@partner-b.test']));
    writeFileSync(f('a-public.asc'), gpg(['--armor', '--export', 'a@site-a.test']));
    writeFileSync(f('b-public.asc'), gpg(['--armor', '--export', 'b@partner-b.test']));
    const figures = { build: [] as number[], buildRss: [] as number[], gpg: [] as number[], gpgRss: [] as number[], read: [] as number[], readRss: [] as number[], gpgRead: [] as number[], gpgReadRss: [] as number[], nested: [] as number[], nestedRss: [] as number[], gpgNested: [] as number[], gpgNestedRss: [] as number[] };
    nestedMail(gpg, dir, readdirSync(studyDir).sort().map((name) => path.join(studyDir, name)));
    const gpgArgs = ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--trust-model', 'always'];
    for (let round = 0; round < rounds; round++) {
      const o = await ours(['build', studyDir, f('pgp.eml'), f('a-secret.asc'), 'bench', f('b-public.asc')], './mail-pgp.ts');
      const peer = await measured('gpg', [...gpgArgs, '--passphrase', 'bench', '-z', '0', '-u', 'a@site-a.test', '-r', 'b@partner-b.test', '--armor', '--sign', '--encrypt', '-o', f('gpg.asc'), f('mixed.mime')]);
      const r = await ours(['read', f('pgp.eml'), f('pgp-work'), f('b-secret.asc'), 'bench-b', f('a-public.asc')], './mail-pgp.ts');
      const peerRead = await measured('gpg', [...gpgArgs, '--passphrase', 'bench-b', '-o', f('gpg.out'), '--decrypt', f('gpg.asc')]);
      figures.build.push(o.ms);
      figures.buildRss.push(o.peakRss / MiB);
      figures.gpg.push(peer.ms);
      figures.gpgRss.push(peer.peakRss / MiB);
      figures.read.push(r.ms);
      figures.readRss.push(r.peakRss / MiB);
      figures.gpgRead.push(peerRead.ms);
      figures.gpgReadRss.push(peerRead.peakRss / MiB);
      // RFC 3156 6.1: decrypt, then the detached signature over the signed part, then manifest + decode.
      const n = await ours(['read', f('nested.eml'), f('nested-work'), f('b-secret.asc'), 'bench-b', f('a-public.asc')], './mail-pgp.ts');
      // gpg needs two runs (decrypt, then verify the detached signature over the signed part, given as a file).
      const peerDecrypt = await measured('gpg', [...gpgArgs, '--passphrase', 'bench-b', '-o', f('nested.out'), '--decrypt', f('nested.asc')]);
      const peerVerify = await measured('gpg', [...gpgArgs, '--verify', f('nested.sig'), f('nested.mime')]);
      figures.nested.push(n.ms);
      figures.nestedRss.push(n.peakRss / MiB);
      figures.gpgNested.push(peerDecrypt.ms + peerVerify.ms);
      figures.gpgNestedRss.push(Math.max(peerDecrypt.peakRss, peerVerify.peakRss) / MiB);
      ctx.log(`round ${round + 1} OpenPGP 6.1: read ${n.ms.toFixed(0)} ms, peak ${(n.peakRss / MiB).toFixed(0)} MiB; gpg --decrypt + --verify ${(peerDecrypt.ms + peerVerify.ms).toFixed(0)} ms, ${(Math.max(peerDecrypt.peakRss, peerVerify.peakRss) / MiB).toFixed(0)} MiB`);
      ctx.log(`round ${round + 1} OpenPGP: build ${o.ms.toFixed(0)} ms, peak ${(o.peakRss / MiB).toFixed(0)} MiB; gpg ${peer.ms.toFixed(0)} ms, ${(peer.peakRss / MiB).toFixed(0)} MiB; read ${r.ms.toFixed(0)} ms, peak ${(r.peakRss / MiB).toFixed(0)} MiB; gpg --decrypt ${peerRead.ms.toFixed(0)} ms, ${(peerRead.peakRss / MiB).toFixed(0)} MiB`);
    }
    const mb = (fileCount * fileSize) / MiB;
    return [
      { name: `OpenPGP: sign + encrypt ${mb} MB (PGP/MIME, armored)`, unit: 'ms', ours: figures.build, peer: figures.gpg, peerName: 'gpg --sign --encrypt' },
      { name: 'OpenPGP: peak RSS of the process', unit: 'MiB', ours: figures.buildRss, peer: figures.gpgRss, peerName: 'gpg --sign --encrypt' },
      { name: `OpenPGP receive: decrypt + verify + manifest + decode ${mb} MB`, unit: 'ms', ours: figures.read, peer: figures.gpgRead, peerName: 'gpg --decrypt' },
      { name: 'OpenPGP receive: peak RSS of the process', unit: 'MiB', ours: figures.readRss, peer: figures.gpgReadRss, peerName: 'gpg --decrypt' },
      { name: `OpenPGP receive, RFC 3156 6.1 (signed, then encrypted): decrypt + detached verify + manifest + decode ${mb} MB`, unit: 'ms', ours: figures.nested, peer: figures.gpgNested, peerName: 'gpg --decrypt, then gpg --verify' },
      { name: 'OpenPGP receive 6.1: peak RSS of the process', unit: 'MiB', ours: figures.nestedRss, peer: figures.gpgNestedRss, peerName: 'gpg --decrypt, then gpg --verify' },
    ];
  } finally {
    spawn('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
  }
}

export const mailWorkload: Workload = {
  name: 'mail',
  description: `sign (SHA-256) and encrypt (AES-256) a ${(fileCount * fileSize) / MiB} MB study of ${fileCount} files as one DICOM e-mail, and open it again, vs openssl cms (S/MIME) and gpg (OpenPGP)`,
  async run(ctx): Promise<Measurement[]> {
    const dir = tempDir('bench-mail-');
    try {
      const certs = certificates(dir);
      const studyDir = path.join(dir, 'study');
      mkdirSync(studyDir);
      const files = Array.from({ length: fileCount }, (_, i) => {
        const file = path.join(studyDir, `f${String(i).padStart(4, '0')}.dcm`);
        const fd = openSync(file, 'w');
        writeSync(fd, randomBytes(fileSize));
        closeSync(fd);
        return file;
      });
      mixedFile(files, path.join(dir, 'mixed.mime'));
      const oursMs: number[] = [];
      const oursRss: number[] = [];
      const peerMs: number[] = [];
      const peerRss: number[] = [];
      const readMs: number[] = [];
      const readRss: number[] = [];
      const peerReadMs: number[] = [];
      const peerReadRss: number[] = [];
      for (let round = 0; round < Math.min(ctx.rounds, 3); round++) {
        const o = await ours([studyDir, certs.a.cert, certs.a.key, certs.b.cert, path.join(dir, 'ours.eml')]);
        oursMs.push(o.ms);
        oursRss.push(o.peakRss / MiB);
        const sign = await measured('openssl', ['cms', '-sign', '-in', path.join(dir, 'mixed.mime'), '-signer', certs.a.cert, '-inkey', certs.a.key, '-md', 'sha256', '-out', path.join(dir, 'signed.eml')]);
        const encrypt = await measured('openssl', ['cms', '-encrypt', '-in', path.join(dir, 'signed.eml'), '-aes256', '-out', path.join(dir, 'peer.eml'), certs.b.cert]);
        peerMs.push(sign.ms + encrypt.ms);
        peerRss.push(Math.max(sign.peakRss, encrypt.peakRss) / MiB);
        // Receiving: our mail opened by us, and by openssl (decrypt, then verify).
        const r = await ours([path.join(dir, 'ours.eml'), path.join(dir, 'read-work'), certs.b.cert, certs.b.key, certs.a.cert], './mail-read.ts');
        readMs.push(r.ms);
        readRss.push(r.peakRss / MiB);
        const decrypt = await measured('openssl', ['cms', '-decrypt', '-in', path.join(dir, 'ours.eml'), '-recip', certs.b.cert, '-inkey', certs.b.key, '-out', path.join(dir, 'decrypted.eml')]);
        const verify = await measured('openssl', ['cms', '-verify', '-in', path.join(dir, 'decrypted.eml'), '-CAfile', certs.ca.cert, '-out', path.join(dir, 'content.mime')]);
        peerReadMs.push(decrypt.ms + verify.ms);
        peerReadRss.push(Math.max(decrypt.peakRss, verify.peakRss) / MiB);
        ctx.log(`round ${round + 1}: reading ours ${r.ms.toFixed(0)} ms, peak ${(r.peakRss / MiB).toFixed(0)} MiB; openssl ${(decrypt.ms + verify.ms).toFixed(0)} ms, ${(Math.max(decrypt.peakRss, verify.peakRss) / MiB).toFixed(0)} MiB`);
        ctx.log(`round ${round + 1}: ours ${o.ms.toFixed(0)} ms, peak ${(o.peakRss / MiB).toFixed(0)} MiB (${(o.rssBefore / MiB).toFixed(0)} MiB before building); openssl ${(sign.ms + encrypt.ms).toFixed(0)} ms, ${(Math.max(sign.peakRss, encrypt.peakRss) / MiB).toFixed(0)} MiB`);
      }
      ctx.log(`median peak RSS: ours ${median(oursRss).toFixed(0)} MiB (a Node process, runtime included), openssl ${median(peerRss).toFixed(0)} MiB`);
      const pgp = await pgpRounds(ctx, dir, studyDir, Math.min(ctx.rounds, 3));
      return [
        ...pgp,
        { name: `sign + encrypt ${(fileCount * fileSize) / MiB} MB`, unit: 'ms', ours: oursMs, peer: peerMs, peerName: 'openssl cms' },
        { name: 'peak RSS of the process', unit: 'MiB', ours: oursRss, peer: peerRss, peerName: 'openssl cms' },
        { name: `receive: decrypt + verify + manifest + decode ${(fileCount * fileSize) / MiB} MB (openssl: -decrypt then -verify)`, unit: 'ms', ours: readMs, peer: peerReadMs, peerName: 'openssl cms' },
        { name: 'receive: peak RSS of the process', unit: 'MiB', ours: readRss, peer: peerReadRss, peerName: 'openssl cms' },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
