import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/clock.ts';
import { Database, MailPartialRepository, MailRepository } from '../../src/db/index.ts';
import type { Mailbox, MailboxConfig } from '../../src/mail/identity.ts';
import { testInbox } from '../support/mail-inbox.ts';
import { Partners } from '../../src/mail/partners.ts';
import { loadOpenPgpIdentities, type OpenPgpIdentity } from '../../src/mail/pgp-identity.ts';
import type { Pop3Client } from '../../src/mail/pop3-client.ts';
import { armoredOf, GpgHome, pgpMimeMail } from '../support/gpg.ts';
import { LogCapture } from '../support/log-capture.ts';
import { mixedContent } from '../support/mail-tools.ts';
import { tempDir } from '../support/temp.ts';

// The inbox with the partner's exceptions as stored: RFC 3156 6.1 mails and inline PGP made with
// gpg, collected, imported and logged. The POP3 server is a stand-in that hands over the mails (no
// mail servers here: mail-relay.test.ts runs the real Postfix/Dovecot pair, machine-wide).
const dir = tempDir('gw-mail-pgp-inbox-');
const ourHome = new GpgHome();
const ourFpr = ourHome.generate('b@partner-b.test', { passphrase: 'inbox secret' });
const ourKeyFile = path.join(dir, 'our-key.asc');
writeFileSync(ourKeyFile, ourHome.secretKey(ourFpr, 'inbox secret'));
const ours = (await loadOpenPgpIdentities([{ name: 'main', address: 'b@partner-b.test', openpgp: { key: ourKeyFile, passphrase: 'inbox secret' } } as unknown as MailboxConfig])).get('main') as OpenPgpIdentity;
const partnerHome = new GpgHome();
const partnerFpr = partnerHome.generate('a@site-a.test', { algo: 'rsa3072' });
partnerHome.run(['--passphrase', '', '--quick-add-key', partnerFpr, 'rsa3072', 'encr', 'never']);
partnerHome.import(ours.armoredPublicKey);
const gpg = (args: readonly string[], input: string): string => partnerHome.run(['--trust-model', 'always', '--armor', ...args], input).toString();
const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

const objects = [randomBytes(70_000), randomBytes(5)];
const content = (sendId: string): string => crlf(mixedContent(objects, { set: { sendId, part: 1, parts: 1 } }));

/** 6.1: the entity signed detached, in multipart/signed, encrypted (only) to us. */
function nestedMail(messageId: string): string {
  const entity = content(messageId);
  const signature = gpg(['--detach-sign', '-u', partnerFpr], entity);
  const signed = crlf('Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="s"\n\n--s\n') + entity + crlf(`\n--s\nContent-Type: application/pgp-signature\n\n${signature.trim()}\n--s--\n`);
  return pgpMimeMail(gpg(['--encrypt', '-r', ourFpr], signed), { from: 'A <a@site-a.test>', to: 'b@partner-b.test', messageId: `${messageId}@site-a.test` });
}

function inlineMail(messageId: string): string {
  const armored = armoredOf(gpg(['--sign', '--encrypt', '-r', ourFpr, '-u', partnerFpr], content(messageId)));
  return crlf(`From: a@site-a.test\nTo: b@partner-b.test\nSubject: DICOM\nMessage-ID: <${messageId}@site-a.test>\nContent-Type: text/plain; charset=us-ascii\n\n${armored}\n`);
}

/** Stands in for the POP3 server: hands over the mails given, and forgets those deleted at QUIT. */
function pop3(mails: Map<string, Buffer>): () => Promise<Pop3Client> {
  return async () => {
    const numbered = [...mails.entries()];
    const deleted: string[] = [];
    return {
      serverCertificate: undefined,
      list: async () => new Map(numbered.map(([, m], i) => [i + 1, m.length])),
      uidl: async () => numbered.map(([uid], i) => ({ number: i + 1, uid })),
      retrieve: async (n: number, write: (chunk: Buffer) => Promise<void>) => {
        const mail = (numbered[n - 1] as [string, Buffer])[1];
        await write(mail);
        return mail.length;
      },
      delete: async (n: number) => {
        deleted.push((numbered[n - 1] as [string, Buffer])[0]);
      },
      quit: async () => {
        for (const uid of deleted) mails.delete(uid);
      },
      close: () => undefined,
    } as unknown as Pop3Client;
  };
}

test('6.1 mails are imported; inline PGP only with legacy.inlinePgp, logged when used, quarantined naming it without', async () => {
  const db = Database.open({ file: path.join(dir, 'gateway.db') });
  const repository = new MailRepository(db);
  const partners = new Partners({ repository, mailboxes: new Set(['main']), clock: new ManualClock(new Date()) });
  const partner = { name: 'Praxis A', address: 'a@site-a.test', mailbox: 'main', format: 'openpgp', publicKey: partnerHome.publicKey(partnerFpr) };
  await partners.create({ ...partner, legacy: { inlinePgp: true } });
  const capture = new LogCapture();
  const server = new Map<string, Buffer>([
    ['nested-1', Buffer.from(nestedMail('nested-1'), 'latin1')],
    ['inline-1', Buffer.from(inlineMail('inline-1'), 'latin1')],
  ]);
  const { inbox, imported } = testInbox({
    mailbox: { config: { name: 'main', pop3: { host: '127.0.0.1', port: 1, user: 'b', password: 'x' } }, tls: { cert: Buffer.alloc(0), key: Buffer.alloc(0), ca: Buffer.alloc(0) } } as unknown as Mailbox,
    openpgp: new Map([['main', ours]]),
    mail: repository,
    partials: new MailPartialRepository(db),
    partners,
    maxInboundBytes: 10 * 1024 * 1024,
    log: pino({ level: 'info' }, capture),
    connect: pop3(server),
  });
  inbox.start();
  try {
    const first = await inbox.poll();
    const rows = repository.listInbound({ limit: 10, offset: 0 });
    assert.equal(first.imported, 2, JSON.stringify(rows));
    assert.deepEqual(imported, [...objects, ...objects]);
    assert.equal(server.size, 0, 'both deleted from the server');
    const legacyLines = capture.lines.filter((l) => l['msg'] === 'accepted under the partner\'s legacy OpenPGP exception');
    assert.equal(legacyLines.length, 1, JSON.stringify(capture.lines));
    assert.deepEqual(legacyLines[0]?.['legacy'], ['inline PGP instead of PGP/MIME (legacy.inlinePgp)']);
    assert.equal(legacyLines[0]?.['partner'], 'Praxis A');

    // The exception taken back: the next inline mail is quarantined, the reason naming it.
    await partners.update('Praxis A', partner);
    assert.equal((await partners.get('Praxis A')).legacy.inlinePgp, false);
    server.set('inline-2', Buffer.from(inlineMail('inline-2'), 'latin1'));
    const second = await inbox.poll();
    assert.equal(second.quarantined, 1);
    const quarantined = repository.listInbound({ limit: 10, offset: 0 }).find((r) => r.messageId === 'inline-2@site-a.test');
    assert.equal(quarantined?.state, 'quarantined');
    assert.match(quarantined?.reason ?? '', /legacy\.inlinePgp/);
    assert.equal(imported.length, 4, 'nothing more imported');
  } finally {
    await inbox.stop();
    db.close();
  }
});
