import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

/**
 * A GnuPG home of its own (real `gpg` from Debian), removed with its agent when the test file ends.
 * Keys made here are what a partner's GnuPG-based software would use.
 */
export class GpgHome {
  readonly dir: string;

  constructor() {
    // Short path: the agent's socket path has a length limit.
    this.dir = mkdtempSync(path.join(tmpdir(), 'gpg-'));
    after(() => {
      spawnSync('gpgconf', ['--homedir', this.dir, '--kill', 'all'], { stdio: 'ignore' });
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  /** Runs gpg in batch mode; returns stdout; throws with stderr on failure. */
  run(args: readonly string[], input?: Buffer | string): Buffer {
    try {
      return execFileSync('gpg', ['--homedir', this.dir, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args], { input, stdio: 'pipe', maxBuffer: 1024 * 1024 * 1024 });
    } catch (err) {
      throw new Error(`gpg ${args.join(' ')}: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
    }
  }

  /** Runs gpg and returns stdout, stderr and the status lines (--status-fd), without throwing. */
  status(args: readonly string[], input?: Buffer | string): { code: number | null; stdout: Buffer; stderr: string; status: string } {
    const r = spawnSync('gpg', ['--homedir', this.dir, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--status-fd', '2', ...args], { input, maxBuffer: 1024 * 1024 * 1024 });
    const stderr = r.stderr.toString();
    return { code: r.status, stdout: r.stdout, stderr, status: stderr.split('\n').filter((l) => l.startsWith('[GNUPG:]')).join('\n') };
  }

  /** Makes a key; `algo` as gpg --quick-gen-key takes it (future-default, rsa2048, rsa1024, ...), `expire` too (never, 10d, ...). Returns its fingerprint. */
  generate(email: string, options: { algo?: string; passphrase?: string; expire?: string; extra?: readonly string[] } = {}): string {
    this.run([...(options.extra ?? []), '--passphrase', options.passphrase ?? '', '--quick-gen-key', `Test <${email}>`, options.algo ?? 'future-default', 'default', options.expire ?? 'never']);
    const colons = this.run(['--with-colons', '--list-secret-keys', email]).toString();
    const fpr = /^fpr:+([0-9A-F]{40,64}):/m.exec(colons)?.[1];
    if (fpr === undefined) throw new Error(`no fingerprint for ${email}`);
    return fpr;
  }

  publicKey(id: string): string {
    return this.run(['--armor', '--export', id]).toString();
  }

  secretKey(id: string, passphrase: string): string {
    return this.run(['--passphrase', passphrase, '--armor', '--export-secret-keys', id]).toString();
  }

  import(armored: string): void {
    this.run(['--import'], armored);
  }
}

/** The armored OpenPGP message of a PGP/MIME mail (the second part of multipart/encrypted). */
export function armoredOf(mail: string): string {
  const m = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(mail);
  if (m === null) throw new Error('no armored OpenPGP message in the mail');
  return m[0];
}

/** Wraps an armored OpenPGP message into a PGP/MIME mail (RFC 3156), as a partner's mail client would. */
export function pgpMimeMail(armored: string, headers: { from: string; to: string; messageId: string; extra?: readonly string[] }): string {
  return [
    `From: ${headers.from}`,
    `To: ${headers.to}`,
    'Subject: DICOM',
    `Message-ID: <${headers.messageId}>`,
    ...(headers.extra ?? []),
    'MIME-Version: 1.0',
    'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="pgpmime"',
    '',
    '--pgpmime',
    'Content-Type: application/pgp-encrypted',
    '',
    'Version: 1',
    '',
    '--pgpmime',
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    '',
    armored.trim(),
    '--pgpmime--',
    '',
  ].join('\n');
}

export function hasGpg(): boolean {
  return spawnSync('gpg', ['--version'], { stdio: 'ignore' }).status === 0;
}
