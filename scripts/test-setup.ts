// Makes sure the programs the tests talk to are installed: real DICOM peers, a real Redis, openssl,
// real mail servers (Postfix, Dovecot).
// Run as root on Debian, it installs what is missing; otherwise it says what to install.
import { execFileSync, spawnSync } from 'node:child_process';

/** Debian package, and a program of it whose presence tells that it is installed. */
export const testPackages: readonly { pkg: string; program: string }[] = [
  { pkg: 'dcmtk', program: 'echoscu' },
  { pkg: 'redis-server', program: 'redis-server' },
  { pkg: 'openssl', program: 'openssl' },
  // Rendering: video encoding and probing, JPEG 2000 fixtures and references.
  { pkg: 'ffmpeg', program: 'ffmpeg' },
  { pkg: 'libgdcm-tools', program: 'gdcmconv' },
  // The e-mail relay's tests run a real Postfix and Dovecot.
  { pkg: 'postfix', program: 'postfix' },
  { pkg: 'dovecot-core', program: 'dovecot' },
  { pkg: 'dovecot-pop3d', program: '/usr/lib/dovecot/pop3' },
  // OpenPGP interop (PGP/MIME) is checked against GnuPG.
  { pkg: 'gnupg', program: 'gpg' },
  // Objects we write ourselves (Encapsulated PDF) are checked against the IOD by dciodvfy.
  { pkg: 'dicom3tools', program: 'dciodvfy' },
];

function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

const missing = testPackages.filter((p) => !has(p.program)).map((p) => p.pkg);
if (missing.length > 0) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !has('apt-get')) {
    process.stderr.write(`The tests need these Debian packages: ${missing.join(' ')}\nInstall them with: sudo apt-get install -y ${missing.join(' ')}\n`);
    process.exit(1);
  }
  process.stdout.write(`installing ${missing.join(' ')} ...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Postfix's installer asks what kind of mail system this is; the tests write their own config.
  if (missing.includes('postfix') && has('debconf-set-selections')) {
    execFileSync('debconf-set-selections', { input: 'postfix postfix/main_mailer_type select No configuration\npostfix postfix/mailname string mail.test\n', stdio: ['pipe', 'inherit', 'inherit'] });
  }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}
