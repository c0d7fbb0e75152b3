// The e-mail relay end to end through the local Postfix (STARTTLS, client certificates required) and
// Dovecot (POP3S, client certificates required): gateway A sends a study to partner B, B collects,
// decrypts, verifies and imports it. The peer does the same with standard tools: `openssl cms` signs
// and encrypts the same files, `curl` submits the mail over SMTP with STARTTLS and the same client
// certificate and fetches it over POP3S, `openssl cms` decrypts and verifies it. Both wait for
// Postfix's delivery into the Maildir; our time also includes storing and indexing at B.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeInstance } from '../fixtures/instances.ts';
import { makeMailCertificates, startMailServers, type MailAccount, type MailCertificates, type MailServers } from '../test/support/mail-servers.ts';
import { startGatewayProcess, tempDir, timed, type BenchContext, type BenchGateway, type Measurement, type Workload } from './support.ts';

const files = 20;
/** 1024 x 1024 16-bit pixels: about 2 MB a file. */
const side = 1024;
const MiB = 1024 * 1024;
const token = 'bench-token-0123456789abcdef';

function mailboxYaml(account: MailAccount, servers: MailServers, certs: MailCertificates, client: { cert: string; key: string }, smime: { cert: string; key: string }): string {
  return `mail:
  sendReceipts: false
  mailboxes:
    - name: main
      address: ${account.address}
      smtp: { host: 127.0.0.1, port: ${servers.smtpPort}, security: starttls }
      pop3: { host: 127.0.0.1, port: ${servers.pop3sPort}, user: ${account.user}, password: ${account.password} }
      tls: { cert: ${client.cert}, key: ${client.key}, ca: ${certs.ca.cert} }
      smime: { cert: ${smime.cert}, key: ${smime.key} }
      pollSeconds: 3600
`;
}

async function api(gw: BenchGateway, route: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${gw.httpPort}${route}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${route}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function clearMaildir(servers: MailServers, account: MailAccount): void {
  for (const file of servers.mails(account)) rmSync(file, { force: true });
}

/** The standard-tools run: openssl cms sign + encrypt, curl SMTP submit, delivery, curl POP3S fetch, openssl cms decrypt + verify. */
async function peerRun(dir: string, study: readonly string[], servers: MailServers, certs: MailCertificates): Promise<number> {
  const f = (n: string): string => path.join(dir, n);
  const mixed = ['Content-Type: multipart/mixed; boundary="B"', ''];
  for (const [i, file] of study.entries()) {
    mixed.push('--B', `Content-Type: application/dicom; name="IM${String(i + 1).padStart(6, '0')}.dcm"`, 'Content-Transfer-Encoding: base64', '');
    mixed.push(...(readFileSync(file).toString('base64').match(/.{1,76}/g) ?? []));
  }
  mixed.push('--B--', '');
  writeFileSync(f('content.mime'), mixed.join('\r\n'));
  const started = process.hrtime.bigint();
  await timed('openssl', ['cms', '-sign', '-in', f('content.mime'), '-signer', certs.smimeA.cert, '-inkey', certs.smimeA.key, '-md', 'sha256', '-out', f('signed.mime')]);
  await timed('openssl', ['cms', '-encrypt', '-aes256', '-in', f('signed.mime'), '-out', f('body.mime'), certs.smimeB.cert]);
  writeFileSync(f('mail.eml'), Buffer.concat([Buffer.from(`From: ${servers.accounts.a.address}\r\nTo: ${servers.accounts.b.address}\r\nSubject: DICOM 1/1\r\n`), readFileSync(f('body.mime'))]));
  const tls = (client: { cert: string; key: string }) => ['--cert', client.cert, '--key', client.key, '--cacert', certs.ca.cert];
  await timed('curl', ['-sS', '--ssl-reqd', ...tls(certs.clientA), '--mail-from', servers.accounts.a.address, '--mail-rcpt', servers.accounts.b.address, '-T', f('mail.eml'), `smtp://127.0.0.1:${servers.smtpPort}`]);
  await until(() => servers.mails(servers.accounts.b).length === 1, 'delivery of the peer mail');
  const b = servers.accounts.b;
  await timed('curl', ['-sS', ...tls(certs.clientB), '-u', `${b.user}:${b.password}`, '-o', f('fetched.eml'), `pop3s://127.0.0.1:${servers.pop3sPort}/1`]);
  await timed('openssl', ['cms', '-decrypt', '-in', f('fetched.eml'), '-recip', certs.smimeB.cert, '-inkey', certs.smimeB.key, '-out', f('decrypted.mime')]);
  await timed('openssl', ['cms', '-verify', '-in', f('decrypted.mime'), '-CAfile', certs.ca.cert, '-out', f('verified.mime')]);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  clearMaildir(servers, b);
  return ms;
}

async function oursRun(a: BenchGateway, b: BenchGateway, studyUid: string, servers: MailServers): Promise<number> {
  const started = process.hrtime.bigint();
  await api(a, `/api/v1/studies/${studyUid}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Partner B' }) });
  await until(() => servers.mails(servers.accounts.b).length >= 1, 'delivery of our mail').catch(async (err: Error) => {
    throw new Error(`${err.message}; A's mails: ${JSON.stringify(await api(a, '/api/v1/mail/messages'))}; postfix: ${servers.postfixLog().slice(-3000)}`);
  });
  await api(b, '/api/v1/mail/mailboxes/main/poll', { method: 'POST' });
  await until(async () => {
    const series = (await api(b, `/api/v1/studies/${studyUid}/series`).catch(() => undefined)) as { items: { instances: number }[] } | undefined;
    return (series?.items ?? []).reduce((n, s) => n + s.instances, 0) === files;
  }, 'the import at B');
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export const mailTransportWorkload: Workload = {
  name: 'mail-transport',
  description: `a ${files}-file study (${(files * side * side * 2) / MiB} MB) from gateway A to B through the local Postfix and Dovecot, vs openssl cms + curl doing the same`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const dir = tempDir('gw-bench-mailtx-');
    // Postfix's delivery agent and Dovecot run as other users: they must pass through to the servers' folder.
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, 'certs'));
    const certs = makeMailCertificates(path.join(dir, 'certs'));
    const servers = await startMailServers(certs, { dir: path.join(dir, 'servers'), messageSizeLimit: 1024 * MiB });
    const gateways: BenchGateway[] = [];
    try {
      const a = await startGatewayProcess({ config: mailboxYaml(servers.accounts.a, servers, certs, certs.clientA, certs.smimeA) });
      gateways.push(a);
      const b = await startGatewayProcess({ config: mailboxYaml(servers.accounts.b, servers, certs, certs.clientB, certs.smimeB) });
      gateways.push(b);
      const pem = (file: string) => readFileSync(file, 'utf8');
      await api(a, '/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Partner B', address: servers.accounts.b.address, certificate: pem(certs.smimeB.cert), mailbox: 'main', maxMailMb: 500 }) });
      await api(b, '/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Site A', address: servers.accounts.a.address, certificate: pem(certs.smimeA.cert), mailbox: 'main' }) });
      const m: Measurement = { name: `${files} files, ${(files * side * side * 2) / MiB} MB: send, deliver, collect, verify (and import)`, unit: 'ms', ours: [], peer: [], peerName: 'openssl cms + curl' };
      for (let round = 0; round <= ctx.rounds; round++) {
        const studyUid = `1.2.826.0.1.3680043.2.1125.80.${process.pid}.${round}`;
        const study = Array.from({ length: files }, (_, i) =>
          makeInstance(dir, `r${round}-${i}.dcm`, { sopInstanceUid: `${studyUid}.${i + 1}`, studyInstanceUid: studyUid, seriesInstanceUid: `${studyUid}.0`, rows: side, columns: side }),
        );
        execFileSync('storescu', ['-aet', 'BENCH', '-aec', a.aeTitle, '-xe', '127.0.0.1', String(a.dicomPort), ...study], { stdio: 'pipe' });
        const ours = await oursRun(a, b, studyUid, servers);
        const peer = await peerRun(dir, study, servers, certs);
        if (round > 0) {
          m.ours.push(ours);
          m.peer?.push(peer);
        }
        for (const file of study) rmSync(file, { force: true });
        ctx.log(`mail-transport round ${round}/${ctx.rounds} done${round === 0 ? ' (warm-up)' : ''}`);
      }
      return [m];
    } finally {
      for (const gw of gateways) await gw.stop();
      await servers.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
