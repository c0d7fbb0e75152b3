import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import { issueCertificate, makeCa } from './dcmtk.ts';
import { freePort } from './ports.ts';
import { tempDir } from './temp.ts';
import { waitFor } from './wait.ts';

/**
 * Real mail servers for the relay's tests: Postfix (SMTP, STARTTLS and a client certificate required)
 * and Dovecot (POP3S, client certificate required), on free ports, delivering to and serving Maildirs
 * in a temp dir, with a CA and certificates the test makes. Postfix insists on `/etc/postfix`
 * (GUIDE): its main.cf and master.cf are written there and the originals put back on stop, so only
 * one test file may run Postfix at a time (all mail server tests live in one file), and runs on one
 * machine wait for each other (`machineLock`).
 */

/** The uid/gid the Maildirs belong to (virtual delivery refuses root). */
const mailUid = 65534;
const mailGid = 65534;

export interface MailCertificates {
  dir: string;
  ca: { cert: string; key: string };
  /** The servers' certificate (localhost, 127.0.0.1). */
  server: { cert: string; key: string };
  /** TLS client certificates of the two gateways. */
  clientA: { cert: string; key: string };
  clientB: { cert: string; key: string };
  /** S/MIME signing/encryption certificates of the two sites. */
  smimeA: { cert: string; key: string };
  smimeB: { cert: string; key: string };
  /** A third party's S/MIME certificate (signs mails that must be refused). */
  smimeOther: { cert: string; key: string };
  /** Site A's identity, expired. */
  smimeAExpired: { cert: string; key: string };
  /** A client certificate from another CA (the servers refuse it). */
  foreignClient: { cert: string; key: string };
}

export function makeMailCertificates(dir: string = tempDir('gw-mail-certs-')): MailCertificates {
  const ca = makeCa(dir);
  const other = makeCa(dir, 'other-ca', '/CN=Other CA');
  const smime = (email: string): string => `keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:${email}\n`;
  const smimeA = issueCertificate(dir, ca, 'smime-a', '/CN=Site A', smime('a@site-a.test'));
  // The same key, expired: `openssl x509 -days -1` on site A's request.
  execFileSync('openssl', ['x509', '-req', '-in', path.join(dir, 'smime-a.csr'), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', path.join(dir, 'smime-a-expired.crt'), '-days', '-1', '-extfile', path.join(dir, 'smime-a.ext')], { stdio: 'pipe' });
  return {
    dir,
    ca,
    server: issueCertificate(dir, ca, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
    clientA: issueCertificate(dir, ca, 'client-a', '/CN=gateway-a', 'extendedKeyUsage=clientAuth\n'),
    clientB: issueCertificate(dir, ca, 'client-b', '/CN=gateway-b', 'extendedKeyUsage=clientAuth\n'),
    smimeA,
    smimeB: issueCertificate(dir, ca, 'smime-b', '/CN=Site B', smime('b@partner-b.test')),
    smimeOther: issueCertificate(dir, ca, 'smime-other', '/CN=Someone else', smime('a@site-a.test')),
    smimeAExpired: { cert: path.join(dir, 'smime-a-expired.crt'), key: smimeA.key },
    foreignClient: issueCertificate(dir, other, 'foreign-client', '/CN=intruder', 'extendedKeyUsage=clientAuth\n'),
  };
}

/** Recipients Postfix answers 451 (busy, try later) and 550 (refused for good). */
export const busyAddress = 'busy@partner-b.test';
export const refusingAddress = 'refuse@partner-b.test';

export interface MailAccount {
  address: string;
  user: string;
  password: string;
  /** The account's Maildir. */
  maildir: string;
}

export interface MailServers {
  smtpPort: number;
  /** An SMTP port of the same Postfix that offers no STARTTLS (for the refusal test). */
  plainSmtpPort: number;
  pop3sPort: number;
  accounts: Record<'a' | 'b', MailAccount>;
  /** Files of the mails in an account's Maildir (new/ and cur/). */
  mails(account: MailAccount): string[];
  /** Puts a mail file straight into an account's Maildir (mails made by other tools). */
  deliver(account: MailAccount, content: Buffer | string): void;
  postfixLog(): string;
  dovecotLog(): string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const postfixFiles = ['/etc/postfix/main.cf', '/etc/postfix/master.cf'];

/**
 * Postfix's configuration is machine-wide, so two test runs on one machine (two checkouts, or the
 * benchmark beside the tests) take turns: `flock` holds the lock for as long as its `cat` reads our
 * pipe, which ends when we release it or when this process dies, however it dies.
 */
async function machineLock(file = '/tmp/dicom-gateway-postfix.lock'): Promise<() => void> {
  const holder = spawn('flock', [file, '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`flock ${file} exited with ${code}`)));
  });
  return () => holder.stdin.end();
}

/** Postfix daemons as master.cf lists them, all without chroot (a hand-started Postfix has no populated chroot). */
const masterServices = [
  'pickup unix n - n 60 1 pickup',
  'cleanup unix n - n - 0 cleanup',
  'qmgr unix n - n 300 1 qmgr',
  'tlsmgr unix - - n 1000? 1 tlsmgr',
  'rewrite unix - - n - - trivial-rewrite',
  'bounce unix - - n - 0 bounce',
  'defer unix - - n - 0 bounce',
  'trace unix - - n - 0 bounce',
  'verify unix - - n - 1 verify',
  'flush unix n - n 1000? 0 flush',
  'proxymap unix - - n - - proxymap',
  'proxywrite unix - - n - 1 proxymap',
  'smtp unix - - n - - smtp',
  'relay unix - - n - - smtp',
  'showq unix n - n - - showq',
  'error unix - - n - - error',
  'retry unix - - n - - error',
  'discard unix - - n - - discard',
  'local unix - n n - - local',
  'virtual unix - n n - - virtual',
  'lmtp unix - - n - - lmtp',
  'anvil unix - - n - 1 anvil',
  'scache unix - - n - 1 scache',
  'postlog unix-dgram n - n - 1 postlogd',
];

/**
 * Starts Postfix and Dovecot for two accounts, `a@site-a.test` and `b@partner-b.test`.
 * `messageSizeLimit` is Postfix's `message_size_limit` (announced in EHLO SIZE). With `dir`, they
 * live there and the caller stops them; otherwise the test file's end does.
 */
export async function startMailServers(certs: MailCertificates, options: { messageSizeLimit?: number; dir?: string } = {}): Promise<MailServers> {
  // A given directory (the benchmark's): the caller stops the servers, no node:test hook does.
  const standalone = options.dir !== undefined;
  // Taken first: the free ports are chosen once it is ours.
  const unlock = await machineLock();
  const dir = options.dir ?? tempDir('gw-mail-servers-');
  mkdirSync(dir, { recursive: true });
  // The daemons' own users (dovecot, nobody) must reach the password file and the Maildirs.
  chmodSync(dir, 0o755);
  const mailBase = path.join(dir, 'mail');
  mkdirSync(mailBase, { recursive: true });
  chownSync(mailBase, mailUid, mailGid);
  const [smtpPort, plainSmtpPort, pop3sPort] = [await freePort(), await freePort(), await freePort()];
  const accounts = {
    a: { address: 'a@site-a.test', user: 'a@site-a.test', password: 'pop-secret-a', maildir: path.join(mailBase, 'site-a.test', 'a') },
    b: { address: 'b@partner-b.test', user: 'b@partner-b.test', password: 'pop-secret-b', maildir: path.join(mailBase, 'partner-b.test', 'b') },
  };
  // Server keys are read by the daemons as their own users.
  for (const file of [certs.server.key, certs.server.cert, certs.ca.cert]) chownSync(file, 0, 0);
  writeFileSync(path.join(dir, 'recipient_access'), `${busyAddress} 451 4.3.0 Mailbox busy, try again later\n${refusingAddress} 550 5.1.1 Mailbox unavailable\n`);
  writeFileSync(path.join(dir, 'vmailbox'), Object.values(accounts).map((a) => `${a.address} ${path.relative(mailBase, a.maildir)}/`).join('\n') + '\n');

  const mainCf = [
    'compatibility_level = 3.6',
    'myhostname = mail.test',
    'mydomain = test',
    'myorigin = $myhostname',
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    // Two recipients that answer as busy or broken servers do: 4xx (try later) and 5xx (never).
    `smtpd_recipient_restrictions = check_recipient_access texthash:${path.join(dir, 'recipient_access')}, permit_mynetworks, reject`,
    'smtputf8_enable = no',
    'biff = no',
    'append_dot_mydomain = no',
    'alias_maps =',
    'alias_database =',
    // Postfix writes its log only under allowed prefixes.
    `maillog_file_prefixes = ${dir}`,
    `maillog_file = ${path.join(dir, 'postfix.log')}`,
    `virtual_mailbox_domains = site-a.test partner-b.test`,
    `virtual_mailbox_base = ${mailBase}`,
    `virtual_mailbox_maps = texthash:${path.join(dir, 'vmailbox')}`,
    `virtual_uid_maps = static:${mailUid}`,
    `virtual_gid_maps = static:${mailGid}`,
    // Local delivery dies when a mailbox limit is below the message limit (GUIDE).
    'virtual_mailbox_limit = 0',
    'mailbox_size_limit = 0',
    `message_size_limit = ${options.messageSizeLimit ?? 200 * 1024 * 1024}`,
    `smtpd_tls_cert_file = ${certs.server.cert}`,
    `smtpd_tls_key_file = ${certs.server.key}`,
    `smtpd_tls_CAfile = ${certs.ca.cert}`,
    'smtpd_tls_security_level = encrypt',
    'smtpd_tls_ask_ccert = yes',
    'smtpd_tls_req_ccert = yes',
    'smtpd_tls_loglevel = 1',
    'smtpd_tls_received_header = yes',
    '',
  ].join('\n');
  const masterCf = [
    `127.0.0.1:${smtpPort} inet n - n - - smtpd`,
    `127.0.0.1:${plainSmtpPort} inet n - n - - smtpd -o smtpd_tls_security_level=none -o smtpd_tls_ask_ccert=no -o smtpd_tls_req_ccert=no -o smtpd_use_tls=no`,
    ...masterServices,
    '',
  ].join('\n');
  for (const file of postfixFiles) if (existsSync(file) && !existsSync(`${file}.gw-test-backup`)) copyFileSync(file, `${file}.gw-test-backup`);
  writeFileSync('/etc/postfix/main.cf', mainCf);
  writeFileSync('/etc/postfix/master.cf', masterCf);
  // A master left by an earlier run that died would hold the pid lock.
  spawnSync('postfix', ['stop'], { stdio: 'ignore' });
  try {
    execFileSync('postfix', ['check'], { stdio: 'pipe' });
  } catch (err) {
    unlock();
    throw new Error(`postfix check: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
  // The master in the foreground, as our child: stopping the test stops it.
  const postfix = spawn('/usr/lib/postfix/sbin/master', ['-d'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const postfixOut: string[] = [];
  postfix.stdout.on('data', (d: Buffer) => postfixOut.push(d.toString()));
  postfix.stderr.on('data', (d: Buffer) => postfixOut.push(d.toString()));

  const passwd = Object.values(accounts).map((a) => `${a.user}:{PLAIN}${a.password}:${mailUid}:${mailGid}::${a.maildir}::`).join('\n') + '\n';
  writeFileSync(path.join(dir, 'dovecot.passwd'), passwd);
  const runDir = path.join(dir, 'dovecot-run');
  mkdirSync(runDir, { recursive: true });
  const dovecotConf = `
base_dir = ${runDir}
state_dir = ${path.join(dir, 'dovecot-state')}
log_path = ${path.join(dir, 'dovecot.log')}
info_log_path = ${path.join(dir, 'dovecot.log')}
protocols = pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <${certs.server.cert}
ssl_key = <${certs.server.key}
ssl_ca = <${certs.ca.cert}
ssl_verify_client_cert = yes
auth_ssl_require_client_cert = yes
ssl_require_crl = no
auth_mechanisms = plain
disable_plaintext_auth = yes
mail_location = maildir:~
first_valid_uid = ${mailUid}
pop3_uidl_format = %08Xu%08Xv
verbose_ssl = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${path.join(dir, 'dovecot.passwd')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${path.join(dir, 'dovecot.passwd')}
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = ${pop3sPort}
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
`;
  writeFileSync(path.join(dir, 'dovecot.conf'), dovecotConf);
  const dovecot = spawn('dovecot', ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const dovecotOut: string[] = [];
  dovecot.stdout.on('data', (d: Buffer) => dovecotOut.push(d.toString()));
  dovecot.stderr.on('data', (d: Buffer) => dovecotOut.push(d.toString()));

  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const postfixLog = (): string => `${read(path.join(dir, 'postfix.log'))}${postfixOut.join('')}`;
  const dovecotLog = (): string => `${read(path.join(dir, 'dovecot.log'))}${dovecotOut.join('')}`;
  let stopped = false;
  const stopChild = async (child: ChildProcess): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([stopChild(postfix), stopChild(dovecot)]);
    for (const file of postfixFiles) {
      if (existsSync(`${file}.gw-test-backup`)) renameSync(`${file}.gw-test-backup`, file);
      else if (file.endsWith('main.cf')) rmSync(file, { force: true });
    }
    unlock();
  };
  if (!standalone) after(stop);
  try {
    await waitFor(async () => (await portOpen(smtpPort)) && (await portOpen(plainSmtpPort)), { timeoutMs: 20_000, what: `postfix on ${smtpPort}` });
    await waitFor(() => portOpen(pop3sPort), { timeoutMs: 20_000, what: `dovecot on ${pop3sPort}` });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\npostfix: ${postfixLog()}\ndovecot: ${dovecotLog()}`);
  }
  const mails = (account: MailAccount): string[] =>
    ['new', 'cur'].flatMap((sub) => {
      const d = path.join(account.maildir, sub);
      return existsSync(d) ? execFileSync('ls', [d]).toString().split('\n').filter(Boolean).map((n) => path.join(d, n)) : [];
    });
  let seq = 0;
  const deliver = (account: MailAccount, content: Buffer | string): void => {
    for (const sub of ['new', 'cur', 'tmp']) {
      mkdirSync(path.join(account.maildir, sub), { recursive: true });
      chownSync(path.join(account.maildir, sub), mailUid, mailGid);
    }
    chownSync(account.maildir, mailUid, mailGid);
    const name = `${Date.now()}.test${seq++}.mail.test`;
    writeFileSync(path.join(account.maildir, 'tmp', name), content);
    chownSync(path.join(account.maildir, 'tmp', name), mailUid, mailGid);
    renameSync(path.join(account.maildir, 'tmp', name), path.join(account.maildir, 'new', name));
  };
  return { smtpPort, plainSmtpPort, pop3sPort, accounts, mails, deliver, postfixLog, dovecotLog, stop };
}
