import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { datasetBytes, makeInstance } from '../../fixtures/instances.ts';
import { tinyPdf } from '../../fixtures/pdf.ts';
import { nameBasedUid } from '../../src/domain/uid.ts';
import { runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { busyAddress, makeMailCertificates, refusingAddress, startMailServers, type MailAccount, type MailCertificates, type MailServers } from '../support/mail-servers.ts';
import { mixedContent, opensslMail } from '../support/mail-tools.ts';
import { ManualClock, systemClock } from '../../src/clock.ts';
import { Database, MailPartialRepository, MailRepository } from '../../src/db/index.ts';
import { ErrorCode, GatewayError } from '../../src/domain/errors.ts';
import { loadMailboxes } from '../../src/mail/identity.ts';
import { Partners } from '../../src/mail/partners.ts';
import { Pop3Client, type Pop3Options } from '../../src/mail/pop3-client.ts';
import { probeServer } from '../../src/mail/smtp.ts';
import { writeFragments } from '../../src/mail/partial-split.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { testInbox } from '../support/mail-inbox.ts';
import { exitOf, spawnGateway, waitForLog } from '../support/cli.ts';
import { freePort } from '../support/ports.ts';
import { stringify } from 'yaml';
import { mkdirSync, writeFileSync } from 'node:fs';
import { GpgHome } from '../support/gpg.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

// End to end through a real Postfix and a real Dovecot: every mail server test of the project lives in
// this one file, since Postfix runs from /etc/postfix and two test files must not run it at once.

const uidBase = '1.2.826.0.1.3680043.2.1125.77';
const pem = (file: string): string => readFileSync(file, 'utf8');

function mailbox(account: MailAccount, tlsClient: { cert: string; key: string }, smime: { cert: string; key: string }, smtpPort: number, name = 'main') {
  return {
    name,
    address: account.address,
    smtp: { host: '127.0.0.1', port: smtpPort, security: 'starttls' as const },
    pop3: { host: '127.0.0.1', port: servers.pop3sPort, user: account.user, password: account.password },
    tls: { cert: tlsClient.cert, key: tlsClient.key, ca: certs.ca.cert },
    smime,
    // The tests poll through the API; the timer stays out of the way.
    pollSeconds: 3600,
  };
}

async function json(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

async function storeStudy(gw: RunningGateway, study: string, count: number, rows = 128): Promise<string[]> {
  const dir = tempDir('gw-mail-study-');
  const sops = Array.from({ length: count }, (_, i) => `${study}.${i + 1}`);
  const files = sops.map((sop, i) => makeInstance(dir, `im${i}`, { sopInstanceUid: sop, studyInstanceUid: study, seriesInstanceUid: `${study}.0`, rows }));
  const result = await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '-xe', '127.0.0.1', String(gw.ports.dicom), ...files]);
  assert.equal(result.code, 0, result.output);
  return sops;
}

async function archivedFile(gw: RunningGateway, sop: string): Promise<string> {
  const row = await json(await gw.api(`/api/v1/instances/${sop}`), 200);
  return path.join(gw.config.dataDir, 'archive', String(row['path']));
}

type Mail = { id: number; state: string; lastError: string | null; part: number; parts: number };

async function sentMails(gw: RunningGateway, study: string, count: number): Promise<Mail[]> {
  return waitFor(
    async () => {
      const { items } = (await json(await gw.api(`/api/v1/mail/messages?study=${study}`), 200)) as { items: Mail[] };
      return items.length === count && items.every((m) => m.state !== 'queued') ? items : undefined;
    },
    { timeoutMs: 60_000, what: `the mails of ${study} to be sent or failed` },
  );
}

async function poll(gw: RunningGateway): Promise<void> {
  await json(await gw.api('/api/v1/mail/mailboxes/main/poll', { method: 'POST' }), 200);
}

type Received = { id: number; state: string; reason: string | null; stored: number | null; duplicates: number | null; files: number | null; messageId: string | null; deletedAt: string | null };

async function received(gw: RunningGateway): Promise<Received[]> {
  return ((await json(await gw.api('/api/v1/mail/received?limit=500'), 200)) as { items: Received[] }).items;
}

// Set up once for the file, at the top level: the helpers' clean-up then runs when the file ends.
const certs: MailCertificates = makeMailCertificates();
const servers: MailServers = await startMailServers(certs);
// OpenPGP key pairs of both sites (made by GnuPG, passphrase-protected as the gateway requires).
const pgpKeys = new GpgHome();
const pgpOf = (email: string, passphrase: string) => {
  const file = path.join(tempDir('gw-mail-pgp-'), 'key.asc');
  writeFileSync(file, pgpKeys.secretKey(pgpKeys.generate(email, { passphrase }), passphrase));
  return { key: file, passphrase };
};
const pgpA = pgpOf('a@site-a.test', 'passphrase of a');
const pgpB = pgpOf('b@partner-b.test', 'passphrase of b');
const siteA: RunningGateway = await startGateway({
  // Studies complete after a second without new instances: the routing test waits for that.
  archive: { studyQuietSeconds: 1 },
  mail: {
    mailboxes: [
      { ...mailbox(servers.accounts.a, certs.clientA, certs.smimeA, servers.smtpPort), openpgp: pgpA },
      // The same account through a port that offers no STARTTLS: sending there must be refused.
      mailbox(servers.accounts.a, certs.clientA, certs.smimeA, servers.plainSmtpPort, 'plain'),
    ],
  },
});
const siteB: RunningGateway = await startGateway({ mail: { mailboxes: [{ ...mailbox(servers.accounts.b, certs.clientB, certs.smimeB, servers.smtpPort), openpgp: pgpB }] } });
await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Teleradiologie B', address: 'b@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'main', maxMailMb: 10 }) }), 201);
await json(await siteB.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'main' }) }), 201);

describe('DICOM e-mail relay through Postfix and Dovecot', () => {
  test('a study sent by A arrives at B, verified, imported, byte-identical, and is deleted from the server', async () => {
    const study = `${uidBase}.1`;
    const sops = await storeStudy(siteA, study, 3);
    const queued = await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
    assert.equal((queued['items'] as unknown[]).length, 1);
    const mails = await sentMails(siteA, study, 1);
    assert.equal(mails[0]?.state, 'sent', JSON.stringify(mails));
    await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery to b' });
    // Nothing of the patient outside the encryption.
    const raw = readFileSync(servers.mails(servers.accounts.b)[0] as string, 'latin1');
    assert.doesNotMatch(raw, /Müller|M\xfcller|PAT-1|ACC123|Thorax/);
    assert.match(raw, /Received: from .*\(using TLS/s, servers.postfixLog());

    await poll(siteB);
    const [mail] = await received(siteB);
    assert.equal(mail?.state, 'imported', JSON.stringify(mail));
    assert.equal(mail?.stored, 3);
    assert.ok(mail?.deletedAt !== null);
    assert.equal(servers.mails(servers.accounts.b).length, 0, 'deleted from the server');
    for (const sop of sops) {
      const sent = datasetBytes(await archivedFile(siteA, sop));
      const got = datasetBytes(await archivedFile(siteB, sop));
      assert.ok(got.equals(sent), `dataset of ${sop} differs`);
    }
    // The study is indexed at B like a C-STORE: study list, series.
    const series = await json(await siteB.api(`/api/v1/studies/${study}/series`), 200);
    assert.equal((series['items'] as unknown[]).length, 1);

    // Polled again: nothing new, no duplicate.
    await poll(siteB);
    assert.equal((await received(siteB)).length, 1);

    // B's signed receipt comes back to A: the mail is acknowledged.
    await waitFor(() => servers.mails(servers.accounts.a).length >= 1, { timeoutMs: 30_000, what: "B's receipt delivered to A" });
    await poll(siteA);
    const [receipt] = await received(siteA);
    assert.equal(receipt?.state, 'receipt', JSON.stringify(receipt));
    const acknowledged = await json(await siteA.api(`/api/v1/mail/messages/${mails[0]?.id}`), 200);
    assert.equal(acknowledged['state'], 'acknowledged');
    assert.ok(acknowledged['acknowledgedAt'] !== null);
  });

  test('a study over the partner limit is split by whole files; each mail arrives and imports', async () => {
    const study = `${uidBase}.2`;
    await json(await siteA.api('/api/v1/mail/partners/Teleradiologie%20B', { method: 'PUT', body: JSON.stringify({ name: 'Teleradiologie B', address: 'b@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'main', maxMailMb: 0.2 }) }), 200);
    // The server's own limit (EHLO SIZE: Postfix's message_size_limit), read over STARTTLS with our client certificate; the smaller limit wins.
    const box = siteA.gateway.mail?.mailboxes.get('main');
    assert.ok(box !== undefined);
    assert.equal((await probeServer(box)).maxSize, 200 * 1024 * 1024);
    try {
      const sops = await storeStudy(siteA, study, 5); // about 41 KB each, 77 KB in a mail: two per 200 KB mail
      const queued = (await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202))['items'] as Mail[];
      assert.equal(queued.length, 3);
      const mails = await sentMails(siteA, study, 3);
      assert.ok(mails.every((m) => m.state === 'sent' && m.parts === 3), JSON.stringify(mails));
      await waitFor(() => servers.mails(servers.accounts.b).length === 3, { timeoutMs: 30_000, what: 'delivery of three mails' });
      for (const file of servers.mails(servers.accounts.b)) assert.ok(readFileSync(file).length <= 0.2 * 1024 * 1024, 'each mail within the limit');
      await poll(siteB);
      const imported = (await received(siteB)).filter((m) => m.state === 'imported');
      assert.equal(imported.length, 4);
      for (const sop of sops) assert.ok(datasetBytes(await archivedFile(siteB, sop)).equals(datasetBytes(await archivedFile(siteA, sop))));

      // Chosen instances only; and one that is not in the study is named.
      const chosen = (await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B', instances: [sops[0], sops[3]] }) }), 202))['items'] as (Mail & { instanceIds: number[] })[];
      assert.deepEqual(chosen.map((m) => m.instanceIds.length), [2]);
      const wrong = await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B', instances: [`${uidBase}.404`] }) }), 400);
      assert.match(JSON.stringify(wrong['errors']), /is not an instance of this study/);
      await sentMails(siteA, study, 4);
      await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery of the chosen instances' });
      await poll(siteB);
      const again = (await received(siteB))[0];
      assert.equal(again?.state, 'imported');
      assert.equal(again?.duplicates, 2, 'already stored at B: counted as duplicates, not stored twice');

      // One instance alone over the limit: sent as message/partial fragments (RFC 2046 5.2.2), each
      // within the limit, 7-bit, cut at line ends; B waits for all, puts the mail together, imports it.
      const big = `${uidBase}.3`;
      const [bigSop] = await storeStudy(siteA, big, 1, 512);
      await json(await siteA.api(`/api/v1/studies/${big}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
      const [bigMail] = (await sentMails(siteA, big, 1)) as (Mail & { fragments: number | null; fragmentsSent: number })[];
      assert.equal(bigMail?.state, 'sent', JSON.stringify(bigMail));
      const fragments = bigMail?.fragments ?? 0;
      assert.ok(fragments >= 2, `fragments: ${fragments}`);
      assert.equal(bigMail?.fragmentsSent, fragments);
      await waitFor(() => servers.mails(servers.accounts.b).length === fragments, { timeoutMs: 30_000, what: 'delivery of every fragment' });
      const numbers = new Set<number>();
      for (const file of servers.mails(servers.accounts.b)) {
        const raw = readFileSync(file);
        assert.ok(raw.length <= 0.2 * 1024 * 1024, 'each fragment within the limit');
        assert.ok(raw.every((b) => b < 128), 'each fragment 7-bit');
        const type = new RegExp(`Content-Type: message/partial; id="[^"]+"; number=(\\d+); total=${fragments}`).exec(raw.toString('latin1'));
        assert.ok(type !== null, 'message/partial with id, number and total');
        numbers.add(Number(type[1]));
        assert.match(raw.toString('latin1'), /X-TELEMEDICINE-PART: \d+/);
      }
      assert.equal(numbers.size, fragments);
      await poll(siteB);
      const sets = (await json(await siteB.api('/api/v1/mail/partials'), 200))['items'] as { state: string; received: number; total: number }[];
      assert.deepEqual(sets.map((p) => [p.state, p.received, p.total]), [['assembled', fragments, fragments]]);
      const rows = await received(siteB);
      assert.equal(rows.filter((r) => r.state === 'fragment').length, fragments);
      assert.equal(rows[0]?.state, 'imported', JSON.stringify(rows[0]));
      assert.equal(servers.mails(servers.accounts.b).length, 0, 'fragments deleted from the server');
      assert.ok(datasetBytes(await archivedFile(siteB, bigSop as string)).equals(datasetBytes(await archivedFile(siteA, bigSop as string))));
    } finally {
      await json(await siteA.api('/api/v1/mail/partners/Teleradiologie%20B', { method: 'PUT', body: JSON.stringify({ name: 'Teleradiologie B', address: 'b@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'main', maxMailMb: 10 }) }), 200);
    }
  });

  test('refusals: a wrong pinned certificate and a tampered mail are quarantined with the reason, nothing imported, and leave the server', async () => {
    const before = (await received(siteB)).length;
    // B pins someone else's certificate for A: A's signature must not be accepted.
    await json(await siteB.api('/api/v1/mail/partners/Praxis%20A', { method: 'PUT', body: JSON.stringify({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeOther.cert), mailbox: 'main' }) }), 200);
    const study = `${uidBase}.4`;
    const [sop] = await storeStudy(siteA, study, 1);
    await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
    await sentMails(siteA, study, 1);
    await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery' });
    const original = readFileSync(servers.mails(servers.accounts.b)[0] as string);
    await poll(siteB);
    await json(await siteB.api('/api/v1/mail/partners/Praxis%20A', { method: 'PUT', body: JSON.stringify({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'main' }) }), 200);
    const [pinned] = await received(siteB);
    assert.equal(pinned?.state, 'quarantined', JSON.stringify(pinned));
    assert.match(pinned?.reason ?? '', /signed with a certificate other than the partner's pinned one/);

    // A tampered copy of the same mail (one base64 character of the encrypted body changed), with the right pin now.
    const tampered = Buffer.from(original);
    const at = tampered.length - 3000;
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    servers.deliver(servers.accounts.b, Buffer.from(tampered.toString('latin1').replace(/^Message-ID: <([^>]+)>/m, 'Message-ID: <tampered-$1>'), 'latin1'));
    await poll(siteB);
    const [altered] = await received(siteB);
    assert.equal(altered?.state, 'quarantined', JSON.stringify(altered));
    assert.match(altered?.reason ?? '', /altered|does not decrypt|malformed|base64|boundary|header/);
    assert.equal((await received(siteB)).length, before + 2);
    assert.equal((await siteB.api(`/api/v1/instances/${sop}`)).status, 404, 'nothing imported');
    assert.equal(servers.mails(servers.accounts.b).length, 0, 'quarantined mails are kept by us, not left on the server');
  });

  test('a mail made with openssl cms (sign, then encrypt) arrives over POP3 and is imported', async () => {
    const dir = tempDir('gw-mail-openssl-');
    const file = makeInstance(dir, 'os1', { sopInstanceUid: `${uidBase}.5.1`, studyInstanceUid: `${uidBase}.5`, seriesInstanceUid: `${uidBase}.5.0` });
    const mail = opensslMail(dir, { content: mixedContent([readFileSync(file)]), signer: certs.smimeA, recipient: certs.smimeB.cert, from: 'a@site-a.test', to: 'b@partner-b.test' });
    servers.deliver(servers.accounts.b, mail);
    await poll(siteB);
    const [latest] = await received(siteB);
    assert.equal(latest?.state, 'imported', JSON.stringify(latest));
    assert.ok(datasetBytes(await archivedFile(siteB, `${uidBase}.5.1`)).equals(datasetBytes(file)));
  });

  test('a server without STARTTLS: the mail is failed with the reason, never sent in plain text', async () => {
    await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'B via plain port', address: 'b2@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'plain' }) }), 201);
    const study = `${uidBase}.6`;
    await storeStudy(siteA, study, 1);
    const plainQueued = await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'B via plain port' }) });
    await json(plainQueued, 202);
    const [mail] = await sentMails(siteA, study, 1);
    assert.equal(mail?.state, 'failed');
    assert.match(mail?.lastError ?? '', /STARTTLS|TLS required/i);
    assert.doesNotMatch(servers.postfixLog(), /from=<a@site-a.test>.*\n.*b2@partner-b.test/);
  });

  test('the API: partners validated field by field, certificates with their expiry, /healthz', async () => {
    const bad = await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: '', address: 'nope', certificate: 'x', mailbox: 'main' }) }), 400);
    const paths = (bad['errors'] as { path: string }[]).map((e) => e.path).sort();
    assert.deepEqual(paths, ['address', 'certificate', 'name']);
    const wrongMailbox = await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'X', address: 'x@y.test', certificate: pem(certs.smimeAExpired.cert), mailbox: 'nope' }) }), 400);
    assert.deepEqual((wrongMailbox['errors'] as { path: string }[]).map((e) => e.path).sort(), ['certificate', 'mailbox']);
    const { items } = (await json(await siteA.api('/api/v1/mail/certificates'), 200)) as { items: { owner: string; status: string; daysLeft: number }[] };
    assert.ok(items.some((c) => c.owner === 'partner Teleradiologie B'));
    // The servers' certificates as last seen: POP3 when polled, SMTP when a send was planned.
    assert.ok(items.some((c) => c.owner === 'mailbox main: SMTP server 127.0.0.1'), JSON.stringify(items.map((c) => c.owner)));
    // The test certificates are valid for two days: every one is within the 30-day warning.
    assert.ok(items.every((c) => c.status === 'expiring'), JSON.stringify(items));
    const health = await json(await fetch(`${siteA.baseUrl}/healthz`), 200);
    assert.match(JSON.stringify(health['warnings']), /mail: .*certificate expires in/);
    const mailboxes = JSON.stringify(await json(await siteA.api('/api/v1/mail/mailboxes'), 200));
    assert.doesNotMatch(mailboxes, /pop-secret/);
  });

  test('faults: a POP3 download that breaks off, and a session lost between import and delete: no loss, no duplicate', async () => {
    // An inbox of its own on B's account (the gateway's own inbox is idle between API polls), reached
    // through a proxy that can cut the connection, with a connect that can fail the first DELE: the
    // state a crash right after the import leaves (recorded as imported, still on the server).
    const proxy = await TcpProxy.start(servers.pop3sPort);
    const [box] = loadMailboxes([{ ...mailbox(servers.accounts.b, certs.clientB, certs.smimeB, servers.smtpPort, 'faults'), pop3: { host: '127.0.0.1', port: proxy.port, user: servers.accounts.b.user, password: servers.accounts.b.password } }]);
    const db = Database.open({ file: path.join(tempDir('gw-mail-faults-'), 'gateway.db') });
    const repository = new MailRepository(db);
    const partners = new Partners({ repository, mailboxes: new Set(['faults']), clock: systemClock });
    await partners.create({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'faults' });
    const imported: string[] = [];
    let failNextDelete = false;
    let diskFull = false;
    const { inbox } = testInbox({
      mailbox: box as NonNullable<typeof box>,
      partials: new MailPartialRepository(db),
      mail: repository,
      partners,
      importFile: async (file) => {
        if (diskFull) throw new GatewayError(ErrorCode.Unavailable, 'the disk is full');
        imported.push(readFileSync(file).toString('base64'));
        return { kind: 'stored', instanceId: imported.length };
      },
      connect: async (options: Pop3Options) => {
        const client = await Pop3Client.connect(options);
        const remove = client.delete.bind(client);
        client.delete = async (n: number) => {
          if (failNextDelete) {
            failNextDelete = false;
            client.close();
            throw new Error('connection lost before DELE');
          }
          return remove(n);
        };
        return client;
      },
    });
    inbox.start();
    const study = `${uidBase}.8`;
    await storeStudy(siteA, study, 3);
    await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
    await sentMails(siteA, study, 1);
    await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery' });

    const copy = readFileSync(servers.mails(servers.accounts.b)[0] as string);

    // 1. The download breaks off 20 KB into the mail: nothing recorded, nothing imported, the mail stays.
    proxy.cutAfterServerBytes(20_000);
    const broken = await inbox.poll();
    assert.ok(proxy.cuts === 1 && broken.lastError !== null, JSON.stringify({ cuts: proxy.cuts, lastError: broken.lastError, rows: repository.listInbound({ limit: 10, offset: 0 }), imported: imported.length }));
    assert.equal(imported.length, 0);
    assert.equal(repository.listInbound({ limit: 10, offset: 0 }).length, 0);
    assert.equal(servers.mails(servers.accounts.b).length, 1);

    // 2. The archive's disk is full during the import: the mail stays stored (and on the server) for the next poll.
    diskFull = true;
    const full = await inbox.poll();
    diskFull = false;
    assert.match(full.lastError ?? '', /could not be handled: the disk is full/);
    assert.equal(repository.listInbound({ limit: 10, offset: 0 })[0]?.state, 'stored');
    assert.equal(imported.length, 0);
    assert.equal(servers.mails(servers.accounts.b).length, 1);

    // 3. Downloaded (already: stored) and imported, then the session is lost before DELE: recorded as imported, still on the server.
    failNextDelete = true;
    const lost = await inbox.poll();
    assert.ok(lost.lastError !== null);
    assert.equal(imported.length, 3);
    const [row] = repository.listInbound({ limit: 10, offset: 0 });
    assert.equal(row?.state, 'imported');
    assert.equal(row?.deletedAt, null);
    assert.equal(servers.mails(servers.accounts.b).length, 1);

    // 4. The next poll only deletes it: imported once.
    const clean = await inbox.poll();
    assert.equal(clean.lastError, null);
    assert.equal(imported.length, 3);
    assert.equal(servers.mails(servers.accounts.b).length, 0);
    assert.notEqual(repository.listInbound({ limit: 10, offset: 0 })[0]?.deletedAt, null);

    // 5. The same mail again under a new UIDL (resent): a duplicate by Message-ID, not imported again.
    assert.ok(!existsSync(row?.rawPath as string), 'an imported mail is not kept once deleted from the server');
    servers.deliver(servers.accounts.b, copy);
    await inbox.poll();
    assert.equal(imported.length, 3);
    assert.equal(repository.listInbound({ limit: 10, offset: 0 })[0]?.state, 'duplicate');
    assert.equal(servers.mails(servers.accounts.b).length, 0);
    await inbox.stop();
    db.close();
  });

  test('routing: a study from a routed device goes to the partner when it is complete', async () => {
    await json(await siteA.api('/api/v1/mail/partners/Teleradiologie%20B', { method: 'PUT', body: JSON.stringify({ name: 'Teleradiologie B', address: 'b@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'main', routes: { devices: ['CT_ROUTE'] } }) }), 200);
    try {
      const study = `${uidBase}.9`;
      const dir = tempDir('gw-mail-route-');
      const file = makeInstance(dir, 'r1', { sopInstanceUid: `${study}.1`, studyInstanceUid: study, seriesInstanceUid: `${study}.0` });
      const result = await runTool('storescu', ['-aet', 'CT_ROUTE', '-aec', 'DICOM_GATEWAY', '-xe', '127.0.0.1', String(siteA.ports.dicom), file]);
      assert.equal(result.code, 0, result.output);
      const [mail] = await sentMails(siteA, study, 1);
      assert.equal(mail?.state, 'sent', JSON.stringify(mail));
      await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery' });
      await poll(siteB);
      assert.ok(datasetBytes(await archivedFile(siteB, `${study}.1`)).equals(datasetBytes(file)));
    } finally {
      await json(await siteA.api('/api/v1/mail/partners/Teleradiologie%20B', { method: 'PUT', body: JSON.stringify({ name: 'Teleradiologie B', address: 'b@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'main' }) }), 200);
    }
  });

  test('answers of the server: 4xx stays queued for a retry with backoff, 5xx fails with the server text; a failed mail can be retried', async () => {
    for (const [name, address] of [['Busy B', busyAddress], ['Refusing B', refusingAddress]] as const) {
      await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name, address, certificate: pem(certs.smimeB.cert), mailbox: 'main' }) }), 201);
    }
    const study = `${uidBase}.10`;
    await storeStudy(siteA, study, 1);
    const busy = ((await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Busy B' }) }), 202))['items'] as { id: number }[])[0];
    const refused = ((await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Refusing B' }) }), 202))['items'] as { id: number }[])[0];
    type Row = Mail & { attempts: number; jobId: number };
    const row = (id: number | undefined) => siteA.api(`/api/v1/mail/messages/${id}`).then((r) => json(r, 200)) as Promise<Row>;
    const deferred = await waitFor(async () => {
      const r = await row(busy?.id);
      return r.attempts >= 1 ? r : undefined;
    }, { timeoutMs: 30_000, what: 'the first attempt to the busy recipient' });
    assert.equal(deferred.state, 'queued');
    assert.match(deferred.lastError ?? '', /451 4\.3\.0 .*Mailbox busy/);
    // The mail's record is written in the attempt; the job is put back just after it.
    const job = await waitFor(async () => {
      const j = await json(await siteA.api(`/api/v1/jobs/${deferred.jobId}`), 200);
      return j['state'] === 'running' ? undefined : j;
    }, { what: 'the attempt to end' });
    assert.equal(job['state'], 'queued');
    assert.ok(new Date(String(job['runAt'])).getTime() > Date.now() + 30_000, `retried later, with backoff: ${JSON.stringify(job)}`);

    const failed = await waitFor(async () => {
      const r = await row(refused?.id);
      return r.state === 'failed' ? r : undefined;
    }, { timeoutMs: 30_000, what: 'the refused mail to fail' });
    assert.match(failed.lastError ?? '', /550 5\.1\.1 .*Mailbox unavailable/);
    assert.equal(failed.attempts, 1, 'a 5xx is not retried');
    const again = await json(await siteA.api(`/api/v1/mail/messages/${refused?.id}/retry`, { method: 'POST' }), 200);
    assert.equal(again['state'], 'queued');
    const refailed = await waitFor(async () => {
      const r = await row(refused?.id);
      return r.state === 'failed' && r.attempts === 2 ? r : undefined;
    }, { timeoutMs: 30_000, what: 'the retried mail to fail again' });
    assert.match(refailed.lastError ?? '', /550/);
    assert.equal((await siteA.api(`/api/v1/mail/messages/${busy?.id}/retry`, { method: 'POST' })).status, 409, 'only failed mails are retried');
  });

  test('kill -9 of the receiving gateway between import and delete: after the restart the mail is deleted, nothing imported twice', async () => {
    // The gateway runs as a process of its own, reaching Dovecot through a proxy that kills it when it
    // sends its first command after the download (DELE): the import is done and committed by then.
    const proxy = await TcpProxy.start(servers.pop3sPort);
    const dir = tempDir('gw-mail-kill-');
    const token = 'mail-kill-token-0123456789abcdef';
    const httpPort = await freePort();
    const configFile = path.join(dir, 'gateway.yaml');
    const box = { ...mailbox(servers.accounts.b, certs.clientB, certs.smimeB, servers.smtpPort), pop3: { host: '127.0.0.1', port: proxy.port, user: servers.accounts.b.user, password: servers.accounts.b.password } };
    writeFileSync(configFile, stringify({ dataDir: path.join(dir, 'data'), dicom: { host: '127.0.0.1', port: await freePort() }, http: { host: '127.0.0.1', port: httpPort, apiToken: token }, mail: { mailboxes: [box] } }));
    const env = { GATEWAY_CONFIG: configFile };
    const api = (p: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${httpPort}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    let gateway = spawnGateway(env);
    try {
      await waitForLog(gateway, 'gateway started');
      await json(await api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'main' }) }), 201);
      // The poll at start is over before the mail arrives (a poll asked for during one shares it).
      await json(await api('/api/v1/mail/mailboxes/main/poll', { method: 'POST' }), 200);
      const files = ['k1', 'k2'].map((name, i) => makeInstance(dir, name, { sopInstanceUid: `${uidBase}.11.${i + 1}`, studyInstanceUid: `${uidBase}.11`, seriesInstanceUid: `${uidBase}.11.0` }));
      const mail = opensslMail(dir, { content: mixedContent(files.map((f) => readFileSync(f))), signer: certs.smimeA, recipient: certs.smimeB.cert, from: 'a@site-a.test', to: 'b@partner-b.test' });
      servers.deliver(servers.accounts.b, mail);
      proxy.onClientDataAfterServerBytes(mail.length, () => gateway.kill('SIGKILL'));
      const answer = await api('/api/v1/mail/mailboxes/main/poll', { method: 'POST' }).then((r) => r.text()).catch((err: Error) => err.message);
      assert.equal(proxy.cuts, 1, `the proxy killed the gateway at DELE; the poll answered: ${answer}`);
      await exitOf(gateway);
      assert.equal(servers.mails(servers.accounts.b).length, 1, 'killed before DELE: the mail is still on the server');

      // The restart polls at once: the mail is known as imported, so it is only deleted.
      gateway = spawnGateway(env);
      await waitForLog(gateway, 'gateway started');
      await waitFor(() => servers.mails(servers.accounts.b).length === 0, { timeoutMs: 30_000, what: 'the mail deleted after the restart' });
      const rows = ((await json(await api('/api/v1/mail/received'), 200))['items'] as Received[]);
      assert.equal(rows.length, 1, JSON.stringify(rows));
      assert.equal(rows[0]?.state, 'imported');
      assert.equal(rows[0]?.stored, 2);
      for (const [i, file] of files.entries()) {
        const row = await json(await api(`/api/v1/instances/${uidBase}.11.${i + 1}`), 200);
        assert.equal(row['duplicates'], 0, 'imported once');
        assert.ok(datasetBytes(path.join(dir, 'data', 'archive', String(row['path']))).equals(datasetBytes(file)));
      }
    } finally {
      if (gateway.exitCode === null && gateway.signalCode === null) {
        gateway.kill('SIGTERM');
        await exitOf(gateway);
      }
    }
  });

  test('OpenPGP partners: a study sent by A as PGP/MIME arrives at B, imported byte-identical; B\'s PGP-signed receipt acknowledges it', async () => {
    const keyOf = async (gw: RunningGateway): Promise<string> => {
      const { items } = (await json(await gw.api('/api/v1/mail/mailboxes'), 200)) as { items: { name: string; openpgp: { publicKey: string; fingerprint: string } | null }[] };
      const main = items.find((m) => m.name === 'main');
      assert.ok(main?.openpgp !== null && main?.openpgp !== undefined, 'our public key is in the API');
      return main.openpgp.publicKey;
    };
    const toB = { name: 'Teleradiologie B', address: 'b@partner-b.test', mailbox: 'main', maxMailMb: 10 };
    const toA = { name: 'Praxis A', address: 'a@site-a.test', mailbox: 'main' };
    const partnerB = await json(await siteA.api('/api/v1/mail/partners/Teleradiologie%20B', { method: 'PUT', body: JSON.stringify({ ...toB, format: 'openpgp', publicKey: await keyOf(siteB) }) }), 200);
    assert.equal(partnerB['format'], 'openpgp');
    assert.match(String((partnerB['openpgp'] as { fingerprint: string }).fingerprint), /^[0-9A-F]{40}$/);
    assert.deepEqual((partnerB['openpgp'] as { legacyFindings: string[] }).legacyFindings, []);
    await json(await siteB.api('/api/v1/mail/partners/Praxis%20A', { method: 'PUT', body: JSON.stringify({ ...toA, format: 'openpgp', publicKey: await keyOf(siteA) }) }), 200);
    try {
      const study = `${uidBase}.20`;
      const sops = await storeStudy(siteA, study, 2);
      // Receipts of earlier tests still on A's server are collected first.
      await poll(siteA);
      assert.equal(servers.mails(servers.accounts.a).length, 0);
      const beforeB = (await received(siteB)).length;
      const beforeA = (await received(siteA)).length;
      await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
      const mails = await sentMails(siteA, study, 1);
      assert.equal(mails[0]?.state, 'sent', JSON.stringify(mails));
      await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery to b' });
      const raw = readFileSync(servers.mails(servers.accounts.b)[0] as string, 'latin1');
      assert.match(raw, /Content-Type: multipart\/encrypted; protocol="application\/pgp-encrypted"/);
      assert.match(raw, /X-TELEMEDICINE-SET-ID: [0-9a-f-]{36}/);
      assert.doesNotMatch(raw, /Müller|M\xfcller|PAT-1|ACC123|Thorax/);

      await poll(siteB);
      const [mail] = await received(siteB);
      assert.equal((await received(siteB)).length, beforeB + 1);
      assert.equal(mail?.state, 'imported', JSON.stringify(mail));
      assert.equal(mail?.stored, 2);
      for (const sop of sops) assert.ok(datasetBytes(await archivedFile(siteB, sop)).equals(datasetBytes(await archivedFile(siteA, sop))), `dataset of ${sop} differs`);

      await waitFor(() => servers.mails(servers.accounts.a).length >= 1, { timeoutMs: 30_000, what: "B's receipt delivered to A" });
      assert.match(readFileSync(servers.mails(servers.accounts.a)[0] as string, 'latin1'), /protocol="application\/pgp-signature"/);
      await poll(siteA);
      assert.equal((await received(siteA)).length, beforeA + 1);
      const [receipt] = await received(siteA);
      assert.equal(receipt?.state, 'receipt', JSON.stringify(receipt));
      assert.equal((await json(await siteA.api(`/api/v1/mail/messages/${mails[0]?.id}`), 200))['state'], 'acknowledged');
    } finally {
      await json(await siteA.api('/api/v1/mail/partners/Teleradiologie%20B', { method: 'PUT', body: JSON.stringify({ ...toB, certificate: pem(certs.smimeB.cert) }) }), 200);
      await json(await siteB.api('/api/v1/mail/partners/Praxis%20A', { method: 'PUT', body: JSON.stringify({ ...toA, certificate: pem(certs.smimeA.cert) }) }), 200);
    }
  });

  test('OpenPGP partner keys through the API: legacy keys refused by default naming the exception, accepted with it and shown', async () => {
    const legacy = new GpgHome();
    const fpr = legacy.generate('old@legacy.test', { algo: 'rsa1024' });
    legacy.run(['--passphrase', '', '--quick-add-key', fpr, 'rsa1024', 'encr', 'never']);
    const body = { name: 'Legacy', address: 'old@legacy.test', mailbox: 'main', format: 'openpgp', publicKey: legacy.publicKey(fpr) };
    const refused = await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify(body) }), 400);
    assert.match(JSON.stringify(refused), /publicKey.*RSA with 1024 bits.*legacy\.oldKeyTypes/);
    const wrong = await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ ...body, publicKey: undefined, certificate: pem(certs.smimeB.cert) }) }), 400);
    assert.match(JSON.stringify(wrong), /certificate.*only for format smime/);
    assert.match(JSON.stringify(wrong), /publicKey.*required for format openpgp/);
    const created = await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ ...body, legacy: { oldKeyTypes: true } }) }), 201);
    try {
      assert.deepEqual(created['legacy'], { sha1: false, oldKeyTypes: true, inlinePgp: false });
      assert.ok((created['openpgp'] as { legacyFindings: string[] }).legacyFindings.some((f) => /RSA with 1024 bits/.test(f)));
    } finally {
      await siteA.api('/api/v1/mail/partners/Legacy', { method: 'DELETE' });
    }
  });
  test('OpenPGP keys expiring soon are in the certificate report: ours and a pinned partner key', async () => {
    const soon = new GpgHome();
    const fpr = soon.generate('soon@short.test', { expire: '10d' });
    await json(await siteA.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Kurzfristig', address: 'soon@short.test', mailbox: 'main', format: 'openpgp', publicKey: soon.publicKey(fpr) }) }), 201);
    try {
      type Entry = { owner: string; status: string; daysLeft: number; subject: string };
      const entry = await waitFor(async () => {
        const { items } = (await json(await siteA.api('/api/v1/mail/certificates'), 200)) as { items: Entry[] };
        return items.find((c) => c.owner === 'partner Kurzfristig: OpenPGP key');
      });
      assert.equal(entry.status, 'expiring');
      assert.ok(entry.daysLeft >= 9 && entry.daysLeft <= 10, String(entry.daysLeft));
      assert.match(entry.subject, new RegExp(fpr));
      // Our own key never expires: it is listed only when it does.
      const { items } = (await json(await siteA.api('/api/v1/mail/certificates'), 200)) as { items: Entry[] };
      assert.ok(!items.some((c) => c.owner === 'mailbox main: OpenPGP key'));
    } finally {
      await siteA.api('/api/v1/mail/partners/Kurzfristig', { method: 'DELETE' });
    }
  });

  test('message/partial received: a set with a fragment missing is never imported and expires with a clear state; a whole set in any order is imported', async () => {
    const [box] = loadMailboxes([mailbox(servers.accounts.b, certs.clientB, certs.smimeB, servers.smtpPort, 'partials')]);
    const db = Database.open({ file: path.join(tempDir('gw-mail-partials-'), 'gateway.db') });
    const repository = new MailRepository(db);
    const partials = new MailPartialRepository(db);
    const partners = new Partners({ repository, mailboxes: new Set(['partials']), clock: systemClock });
    await partners.create({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'partials' });
    const clock = new ManualClock(new Date());
    const { inbox, imported } = testInbox({ mailbox: box as NonNullable<typeof box>, partials, mail: repository, partners, clock });
    // A's mail (openssl-made S/MIME) cut into fragments as a partner's software would send them.
    const dir = tempDir('gw-mail-partials-src-');
    const objects = [randomBytes(40_000), randomBytes(30_000)];
    const fragmentsOf = async (tag: string): Promise<Buffer[]> => {
      const mailPath = path.join(dir, `${tag}.eml`);
      writeFileSync(mailPath, opensslMail(dir, { content: mixedContent(objects), signer: certs.smimeA, recipient: certs.smimeB.cert, from: 'a@site-a.test', to: 'b@partner-b.test' }).toString('latin1').replace(/\r?\n/g, '\r\n'));
      const outDir = path.join(dir, tag);
      mkdirSync(outDir);
      const files = await writeFragments({ mailPath, limit: 30_000, partialId: `${tag}@site-a.test`, from: 'a@site-a.test', to: 'b@partner-b.test', messageId: `${tag}@site-a.test`, date: new Date(), set: { setId: tag, part: 1, parts: 1 }, outDir });
      return files.map((f) => readFileSync(f));
    };
    inbox.start();
    try {
      const incomplete = await fragmentsOf('incomplete');
      assert.ok(incomplete.length >= 4, `fragments: ${incomplete.length}`);
      for (const [i, fragment] of incomplete.entries()) if (i !== 1) servers.deliver(servers.accounts.b, fragment);
      const report = await inbox.poll();
      assert.equal(report.lastError, null);
      assert.equal(imported.length, 0, 'nothing of an incomplete set is imported');
      let [set] = partials.list({ limit: 10, offset: 0 });
      assert.deepEqual([set?.state, set?.received, set?.total], ['waiting', incomplete.length - 1, incomplete.length], JSON.stringify(repository.listInbound({ limit: 50, offset: 0 })));
      assert.equal(servers.mails(servers.accounts.b).length, 0, 'fragments are stored durably and deleted from the server');
      clock.advance(3_600_001);
      await inbox.poll();
      [set] = partials.list({ limit: 10, offset: 0 });
      assert.equal(set?.state, 'expired');
      // The missing fragment comes late: the set stays expired, nothing imported.
      servers.deliver(servers.accounts.b, incomplete[1] as Buffer);
      await inbox.poll();
      assert.equal(partials.list({ limit: 10, offset: 0 })[0]?.state, 'expired');
      assert.equal(imported.length, 0);

      // A whole set, delivered last fragment first, one fragment twice.
      const whole = await fragmentsOf('whole');
      for (const fragment of [...whole].reverse()) servers.deliver(servers.accounts.b, fragment);
      servers.deliver(servers.accounts.b, whole[0] as Buffer);
      await inbox.poll();
      const done = partials.list({ state: 'assembled', limit: 10, offset: 0 });
      assert.equal(done.length, 1);
      assert.equal(done[0]?.received, whole.length);
      assert.equal(imported.length, 2);
      // The set is imported: its fragments' raw mails are gone; the expired set keeps its own.
      assert.ok(partials.fragments(done[0]?.id as number).every((f) => !existsSync(f.rawPath)), 'fragments of an imported set are removed');
      const expired = partials.list({ state: 'expired', limit: 10, offset: 0 })[0];
      assert.ok(partials.fragments(expired?.id as number).every((f) => existsSync(f.rawPath)), 'an expired set keeps its fragments');
      imported.forEach((file, i) => assert.ok(file.equals(objects[i] as Buffer), `object ${i} differs`));
      assert.ok(repository.listInbound({ limit: 500, offset: 0 }).some((r) => r.state === 'duplicate' && /fragment 1 of message\/partial set/.test(r.reason ?? '')));
    } finally {
      await inbox.stop();
      db.close();
    }
  });
  test('a set of three mails: each imported as it arrives, receipts only once the set is whole; an incomplete set is listed as such', async () => {
    const [box] = loadMailboxes([mailbox(servers.accounts.b, certs.clientB, certs.smimeB, servers.smtpPort, 'sets')]);
    const db = Database.open({ file: path.join(tempDir('gw-mail-sets-'), 'gateway.db') });
    const repository = new MailRepository(db);
    const partners = new Partners({ repository, mailboxes: new Set(['sets']), clock: systemClock });
    await partners.create({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'sets' });
    const receipts: number[] = [];
    const { inbox, imported } = testInbox({
      mailbox: box as NonNullable<typeof box>,
      partials: new MailPartialRepository(db),
      mail: repository,
      partners,
      onImported: async (row) => {
        receipts.push(row.id);
      },
    });
    inbox.start();
    const dir = tempDir('gw-mail-sets-src-');
    const part = (n: number): Buffer => opensslMail(dir, { content: mixedContent([Buffer.from(`object ${n}`)], { set: { sendId: 'set-of-three', part: n, parts: 3 } }), signer: certs.smimeA, recipient: certs.smimeB.cert, from: 'a@site-a.test', to: 'b@partner-b.test' });
    try {
      servers.deliver(servers.accounts.b, part(1));
      servers.deliver(servers.accounts.b, part(3));
      await inbox.poll();
      assert.equal(imported.length, 2, 'parts are imported as they arrive');
      assert.deepEqual(receipts, [], 'no receipt before the set is whole');
      const [incomplete] = repository.receivedSets({ incomplete: true, limit: 10, offset: 0 });
      assert.deepEqual([incomplete?.setId, incomplete?.imported, incomplete?.parts, incomplete?.complete], ['set-of-three', 2, 3, false]);
      servers.deliver(servers.accounts.b, part(2));
      await inbox.poll();
      assert.equal(imported.length, 3);
      assert.equal(receipts.length, 3, 'a receipt for every mail of the set once it is whole');
      assert.deepEqual(repository.receivedSets({ incomplete: true, limit: 10, offset: 0 }), []);
    } finally {
      await inbox.stop();
      db.close();
    }
  });

  test('a study whose mails arrive in part is flagged in the studies API until its set is whole', async () => {
    const study = `${uidBase}.31`;
    const dir = tempDir('gw-mail-set-study-');
    const objects = [1, 2, 3].map((n) => readFileSync(makeInstance(dir, `s${n}`, { sopInstanceUid: `${study}.${n}`, studyInstanceUid: study, seriesInstanceUid: `${study}.0` })));
    const part = (n: number): Buffer =>
      opensslMail(dir, { content: mixedContent([objects[n - 1] as Buffer], { set: { sendId: 'study-set-of-three', part: n, parts: 3 } }), signer: certs.smimeA, recipient: certs.smimeB.cert, from: 'a@site-a.test', to: 'b@partner-b.test' });
    const flag = async (): Promise<unknown> => {
      const studies = (await json(await siteB.api('/api/v1/studies?limit=500'), 200)) as { items: { studyInstanceUid: string; mailSetIncomplete: boolean; instances: number }[] };
      const found = studies.items.find((x) => x.studyInstanceUid === study);
      return found === undefined ? undefined : [found.instances, found.mailSetIncomplete];
    };
    servers.deliver(servers.accounts.b, part(1));
    servers.deliver(servers.accounts.b, part(3));
    await poll(siteB);
    assert.deepEqual(await flag(), [2, true], 'two of three mails: the study is flagged incomplete');
    servers.deliver(servers.accounts.b, part(2));
    await poll(siteB);
    assert.deepEqual(await flag(), [3, false], 'the set is whole: the flag is gone');
  });

  test('overdue: a sent mail without receipt and a received set still lacking mails are flagged in the API and /healthz after their timeouts', async () => {
    // A third site on A's account with a clock the test moves; it polls only when the test says.
    const clock = new ManualClock(new Date());
    const siteC = await startGateway({ mail: { mailboxes: [mailbox(servers.accounts.a, certs.clientA, certs.smimeA, servers.smtpPort)], receiptTimeoutHours: 2, setTimeoutHours: 3 } }, { clock });
    await json(await siteC.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Teleradiologie B', address: 'b@partner-b.test', certificate: pem(certs.smimeB.cert), mailbox: 'main' }) }), 201);
    const before = new Set(servers.mails(servers.accounts.b));
    try {
      const study = `${uidBase}.41`;
      await storeStudy(siteC, study, 1);
      await json(await siteC.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
      const [sent] = await sentMails(siteC, study, 1);
      assert.equal(sent?.state, 'sent');
      // Half of a set from B (the same pinned partner) arrives at C.
      const dir = tempDir('gw-mail-overdue-');
      const object = readFileSync(makeInstance(dir, 'o1', { sopInstanceUid: `${study}.9.1`, studyInstanceUid: `${study}.9`, seriesInstanceUid: `${study}.9.0` }));
      servers.deliver(servers.accounts.a, opensslMail(dir, { content: mixedContent([object], { set: { sendId: 'overdue-set', part: 1, parts: 2 } }), signer: certs.smimeB, recipient: certs.smimeA.cert, from: 'b@partner-b.test', to: 'a@site-a.test' }));
      await poll(siteC);
      type Flagged = { items: { receiptOverdue?: boolean; overdue?: boolean; setId?: string }[] };
      const state = async () => ({
        receipt: ((await json(await siteC.api(`/api/v1/mail/messages?study=${study}`), 200)) as Flagged).items.map((m) => m.receiptOverdue),
        set: ((await json(await siteC.api('/api/v1/mail/sets?incomplete=true'), 200)) as Flagged).items.filter((x) => x.setId === 'overdue-set').map((x) => x.overdue),
        health: JSON.stringify((await json(await fetch(`${siteC.baseUrl}/healthz`), 200))['warnings'] ?? []),
      });
      const fresh = await state();
      assert.deepEqual([fresh.receipt, fresh.set], [[false], [false]]);
      assert.doesNotMatch(fresh.health, /without the partner's receipt|received set/);
      clock.advance(2.5 * 3_600_000);
      const later = await state();
      assert.deepEqual([later.receipt, later.set], [[true], [false]], 'past the receipt timeout, not yet the set timeout');
      assert.match(later.health, /1 sent mail\(s\) without the partner's receipt after 2 h/);
      clock.advance(3_600_000);
      const last = await state();
      assert.deepEqual(last.set, [true]);
      assert.match(last.health, /1 received set\(s\) incomplete for more than 3 h/);
    } finally {
      // What C sent waits in B's Maildir: later tests count B's mails.
      for (const file of servers.mails(servers.accounts.b)) if (!before.has(file)) rmSync(file, { force: true });
    }
  });
  test('a mailbox made through the API receives and sends: a site without mailboxes in its config takes B\'s account, imports A\'s study byte-identical, and its receipt acknowledges it at A', async () => {
    const siteC = await startGateway();
    const account = servers.accounts.b;
    const created = await json(
      await siteC.api('/api/v1/mail/mailboxes', {
        method: 'POST',
        body: JSON.stringify({
          name: 'through-api',
          address: account.address,
          smtp: { host: '127.0.0.1', port: servers.smtpPort, security: 'starttls' },
          pop3: { host: '127.0.0.1', port: servers.pop3sPort, user: account.user, password: account.password },
          tls: { cert: pem(certs.clientB.cert), key: pem(certs.clientB.key), ca: pem(certs.ca.cert) },
          smime: { cert: pem(certs.smimeB.cert), key: pem(certs.smimeB.key) },
          pollSeconds: 3600,
        }),
      }),
      201,
    );
    assert.equal(created['source'], 'api');
    await json(await siteC.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Praxis A', address: 'a@site-a.test', certificate: pem(certs.smimeA.cert), mailbox: 'through-api' }) }), 201);
    const study = `${uidBase}.50`;
    const sops = await storeStudy(siteA, study, 2);
    // Receipts of earlier tests still on A's server are collected first.
    await poll(siteA);
    const beforeA = (await received(siteA)).length;
    await json(await siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Teleradiologie B' }) }), 202);
    const [mail] = await sentMails(siteA, study, 1);
    assert.equal(mail?.state, 'sent', JSON.stringify(mail));
    await waitFor(() => servers.mails(account).length === 1, { timeoutMs: 30_000, what: 'delivery to b' });

    // Collected over POP3S with the client certificate given through the API, decrypted with its S/MIME key.
    await json(await siteC.api('/api/v1/mail/mailboxes/through-api/poll', { method: 'POST' }), 200);
    const [got] = await received(siteC);
    assert.equal(got?.state, 'imported', JSON.stringify(got));
    assert.equal(got?.stored, 2);
    assert.equal(servers.mails(account).length, 0, 'deleted from the server');
    for (const sop of sops) assert.ok(datasetBytes(await archivedFile(siteC, sop)).equals(datasetBytes(await archivedFile(siteA, sop))), `dataset of ${sop} differs`);

    // Its receipt went out through Postfix with the same mailbox (signed with its S/MIME key) and acknowledges A's mail.
    await waitFor(() => servers.mails(servers.accounts.a).length >= 1, { timeoutMs: 30_000, what: "C's receipt delivered to A" });
    await poll(siteA);
    assert.equal((await received(siteA)).length, beforeA + 1);
    assert.equal((await json(await siteA.api(`/api/v1/mail/messages/${mail?.id}`), 200))['state'], 'acknowledged');
  });

  test('a quarantined mail is reprocessed once the admin fixed its cause: from an unknown sender, imported when the partner is added', async () => {
    const dir = tempDir('gw-mail-reprocess-');
    const study = `${uidBase}.80`;
    const file = makeInstance(dir, 'rp1', { sopInstanceUid: `${study}.1`, studyInstanceUid: study, seriesInstanceUid: `${study}.0` });
    servers.deliver(servers.accounts.b, opensslMail(dir, { content: mixedContent([readFileSync(file)]), signer: certs.smimeOther, recipient: certs.smimeB.cert, from: 'c@site-c.test', to: 'b@partner-b.test' }));
    await poll(siteB);
    const [quarantined] = await received(siteB);
    assert.equal(quarantined?.state, 'quarantined', JSON.stringify(quarantined));
    assert.match(quarantined?.reason ?? '', /unknown sender/);
    assert.equal(servers.mails(servers.accounts.b).length, 0, 'off the server, kept on disk');
    const reprocess = () => siteB.api(`/api/v1/mail/received/${quarantined?.id}/reprocess`, { method: 'POST' });
    // Nothing fixed yet: quarantined again, for the same reason.
    const unchanged = await json(await reprocess(), 200);
    assert.deepEqual([unchanged['state'], unchanged['reason']], ['quarantined', quarantined?.reason]);
    assert.equal((await siteB.api(`/api/v1/instances/${study}.1`)).status, 404);

    await json(await siteB.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'Praxis C', address: 'c@site-c.test', certificate: pem(certs.smimeOther.cert), mailbox: 'main' }) }), 201);
    const imported = await json(await reprocess(), 200);
    assert.deepEqual([imported['state'], imported['stored'], imported['partnerName']], ['imported', 1, 'Praxis C']);
    assert.ok(datasetBytes(await archivedFile(siteB, `${study}.1`)).equals(datasetBytes(file)));
    // Only quarantined mails; an unknown one is named as such.
    const twice = await siteB.api(`/api/v1/mail/received/${quarantined?.id}/reprocess`, { method: 'POST' });
    assert.equal(twice.status, 409);
    assert.match(await twice.text(), /only quarantined mails/);
    assert.equal((await siteB.api('/api/v1/mail/received/999999/reprocess', { method: 'POST' })).status, 404);
    await json(await siteB.api('/api/v1/mail/partners/Praxis%20C', { method: 'DELETE' }), 204);
  });

  test('PDF documents sent with a study arrive at B as Encapsulated PDF instances of the study; bad attachments are named, nothing queued', async () => {
    const study = `${uidBase}.70`;
    await storeStudy(siteA, study, 2);
    const pdf = tinyPdf('Befund vom 22.11.');
    const send = (body: unknown) => siteA.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify(body) });
    // Every wrong field named; nothing queued, nothing kept.
    const shape = await json(await send({ partner: 'Teleradiologie B', attachments: [{ title: '', contentBase64: 'x' }, { title: 'ok' }] }), 400);
    assert.deepEqual((shape['errors'] as { path: string }[]).map((e) => e.path).sort(), ['attachments[0].title', 'attachments[1].contentBase64']);
    const content = await json(await send({ partner: 'Teleradiologie B', attachments: [{ title: 'a', contentBase64: 'not base64!' }, { title: 'b', contentBase64: Buffer.from('plain text').toString('base64') }, { title: 'c', contentBase64: pdf.toString('base64') }] }), 400);
    assert.deepEqual((content['errors'] as { path: string; message: string }[]).map((e) => `${e.path}: ${e.message}`), ['attachments[0].contentBase64: not base64', 'attachments[1].contentBase64: not a PDF (it does not start with %PDF-)']);
    assert.equal(((await json(await siteA.api(`/api/v1/mail/messages?study=${study}`), 200))['items'] as unknown[]).length, 0);

    const [queued] = (await json(await send({ partner: 'Teleradiologie B', attachments: [{ title: 'Befund Müller', contentBase64: pdf.toString('base64') }] }), 202))['items'] as (Mail & { sendId: string; documents: { title: string; size: number }[] })[];
    assert.deepEqual(queued?.documents.map((d) => [d.title, d.size]), [['Befund Müller', pdf.length]]);
    const [mail] = await sentMails(siteA, study, 1);
    assert.equal(mail?.state, 'sent', JSON.stringify(mail));
    // Kept until sent, then removed.
    await waitFor(() => !existsSync(path.join(siteA.config.dataDir, 'mail', 'documents', queued?.sendId ?? '')), { timeoutMs: 10_000, what: 'the sent PDF removed at A' });
    await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery to b' });
    assert.doesNotMatch(readFileSync(servers.mails(servers.accounts.b)[0] as string, 'latin1'), /Befund|M\xfcller|Müller|%PDF/);

    await poll(siteB);
    const [got] = await received(siteB);
    assert.equal(got?.state, 'imported', JSON.stringify(got));
    assert.equal(got?.stored, 3, 'two images and the PDF');
    const docSop = nameBasedUid(`dicom-gateway/mail-document/${study}/${createHash('sha256').update(pdf).digest('hex')}`);
    const instance = await json(await siteB.api(`/api/v1/instances/${docSop}`), 200);
    assert.equal(instance['sopClassUid'], '1.2.840.10008.5.1.4.1.1.104.1');
    const series = (await json(await siteB.api(`/api/v1/studies/${study}/series`), 200))['items'] as { modality: string }[];
    assert.deepEqual(series.map((x) => x.modality).sort(), ['CT', 'DOC']);
    // DCMTK reads the very PDF back out, under the patient and study of the images.
    const file = await archivedFile(siteB, docSop);
    const extracted = path.join(tempDir('gw-mail-pdf-'), 'out.pdf');
    assert.equal((await runTool('dcm2pdf', [file, extracted])).code, 0);
    assert.ok(readFileSync(extracted).equals(pdf));
    const dump = (await runTool('dcmdump', ['+U8', file])).output;
    assert.match(dump, /\(0010,0010\) PN \[Müller\^Jürgen\]/);
    assert.match(dump, /\(0010,0020\) LO \[PAT-1\]/);
    assert.match(dump, /\(0008,0050\) SH \[ACC123\]/);
    assert.match(dump, /\(0042,0010\) ST \[Befund Müller\]/);
    // Rendering takes the PDF out for the patient record, as for any Encapsulated PDF.
    const derived = await waitFor(
      async () => {
        const listing = (await json(await siteB.api(`/api/v1/instances/${docSop}/derived`), 200)) as { items: { mediaType: string; href: string }[] };
        return listing.items.find((f) => f.mediaType === 'application/pdf');
      },
      { timeoutMs: 30_000, what: 'the PDF rendered at B' },
    );
    assert.ok(Buffer.from(await (await siteB.api(derived.href.replace(/^\/api\/v1/, '/api/v1'))).arrayBuffer()).equals(pdf));

    // The same PDF again: the same instance, a duplicate, not a second copy.
    await json(await send({ partner: 'Teleradiologie B', attachments: [{ title: 'Befund Müller', contentBase64: pdf.toString('base64') }] }), 202);
    await sentMails(siteA, study, 2);
    await waitFor(() => servers.mails(servers.accounts.b).length === 1, { timeoutMs: 30_000, what: 'delivery to b' });
    await poll(siteB);
    const [again] = await received(siteB);
    assert.deepEqual([again?.state, again?.stored, again?.duplicates], ['imported', 0, 3]);
  });
});
