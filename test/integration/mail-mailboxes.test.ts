import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { makeInstance } from '../../fixtures/instances.ts';
import { runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { GpgHome } from '../support/gpg.ts';
import { makeMailCertificates, type MailCertificates } from '../support/mail-servers.ts';
import { freePort } from '../support/ports.ts';
import { tempDir } from '../support/temp.ts';

// Our mailboxes through the API of a real gateway: made, read, changed and deleted at once, their
// secrets sealed in the database and never answered. No mail server here (mail-relay.test.ts proves
// a mailbox made through the API sends and receives): the pollers poll a closed port.

const pem = (file: string): string => readFileSync(file, 'utf8');
const certs: MailCertificates = makeMailCertificates();
const closedPort = await freePort();
const gpg = new GpgHome();
const pgpPassphrase = 'the pgp passphrase 7731';
const pgpFingerprint = gpg.generate('second@site.test', { passphrase: pgpPassphrase });
const pgpKey = gpg.secretKey(pgpFingerprint, pgpPassphrase);
// A key without a passphrase: refused (our key pair must stay encrypted at rest).
const plainPgpKey = gpg.secretKey(gpg.generate('plain@site.test'), '');
const pop3Password = 'pop3-password-5813';

/** The body of a PEM or armored block without its armour lines: what must never leave the gateway. */
const bodyOf = (block: string): string[] =>
  block
    .split('\n')
    .filter((l) => l.length >= 40 && !l.startsWith('-----'))
    .slice(0, 3);
const secrets = [pop3Password, pgpPassphrase, ...bodyOf(pem(certs.clientB.key)), ...bodyOf(pem(certs.smimeB.key)), ...bodyOf(pgpKey)];

function assertNoSecret(text: string, where: string): void {
  assert.doesNotMatch(text, /PRIVATE KEY/, where);
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where} gives a secret away`);
}

function body(name = 'second', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    address: 'second@site.test',
    smtp: { host: '127.0.0.1', port: closedPort, security: 'starttls' },
    pop3: { host: '127.0.0.1', port: closedPort, user: 'second', password: pop3Password },
    tls: { cert: pem(certs.clientB.cert), key: pem(certs.clientB.key), ca: pem(certs.ca.cert) },
    smime: { cert: pem(certs.smimeB.cert), key: pem(certs.smimeB.key) },
    openpgp: { key: pgpKey, passphrase: pgpPassphrase },
    pollSeconds: 3600,
    ...overrides,
  };
}

async function call(gw: RunningGateway, method: string, p: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await gw.api(`/api/v1/mail${p}`, { method, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) });
  const text = await res.text();
  // Whatever the answer, it never holds a secret.
  assertNoSecret(text, `${method} ${p}`);
  return { status: res.status, text, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

function issuePaths(answer: { body: Record<string, unknown> }): string[] {
  return ((answer.body['errors'] ?? []) as { path: string }[]).map((i) => i.path);
}

const dataDir = tempDir('gw-mailboxes-');
after(() => rmSync(dataDir, { recursive: true, force: true }));
const configMailbox = {
  name: 'main',
  address: 'main@site.test',
  smtp: { host: '127.0.0.1', port: closedPort },
  pop3: { host: '127.0.0.1', port: closedPort, user: 'main', password: 'config password' },
  tls: { cert: certs.clientA.cert, key: certs.clientA.key, ca: certs.ca.cert },
  smime: { cert: certs.smimeA.cert, key: certs.smimeA.key },
  pollSeconds: 3600,
};
const overrides = { dataDir, mail: { mailboxes: [configMailbox] } };
// Started here: a gateway started inside a test is stopped when that test ends.
let gw: RunningGateway = await startGateway(overrides);

describe('our mailboxes through the API', () => {
  test('made through the API: answered without secrets, listed with the config file\'s, polling at once', async () => {
    assert.equal(existsSync(path.join(dataDir, 'secret.key')), false, 'no key file before a secret is stored');
    const created = await call(gw, 'POST', '/mailboxes', body());
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body['source'], 'api');
    assert.deepEqual(created.body['pop3'], { host: '127.0.0.1', port: closedPort, user: 'second' });
    assert.match((created.body['smime'] as { certificate: { subject: string } }).certificate.subject, /CN=Site B/);
    assert.match((created.body['tls'] as { certificate: { subject: string } }).certificate.subject, /CN=gateway-b/);
    assert.equal((created.body['tls'] as { ca: unknown[] }).ca.length, 1);
    const openpgp = created.body['openpgp'] as { fingerprint: string; publicKey: string };
    assert.equal(openpgp.fingerprint, pgpFingerprint);
    assert.match(openpgp.publicKey, /BEGIN PGP PUBLIC KEY BLOCK/);
    assert.ok(existsSync(path.join(dataDir, 'secret.key')), 'the key file is made for the first sealed secret');

    // Its poller runs at once: the first poll (at start) reaches the closed port and says so.
    const polled = await call(gw, 'POST', '/mailboxes/second/poll');
    assert.equal(polled.status, 200, polled.text);
    assert.match(String(polled.body['lastError']), /ECONNREFUSED/);

    const got = await call(gw, 'GET', '/mailboxes/second');
    assert.equal(got.status, 200);
    assert.equal(got.body['address'], 'second@site.test');
    const list = await call(gw, 'GET', '/mailboxes');
    const items = list.body['items'] as { name: string; source: string }[];
    assert.deepEqual(
      items.map((m) => [m.name, m.source]),
      [
        ['main', 'config'],
        ['second', 'api'],
      ],
    );
    // Its certificates and OpenPGP key are in the expiry report.
    const report = JSON.stringify((await call(gw, 'GET', '/certificates')).body);
    for (const owner of ['mailbox second: S/MIME', 'mailbox second: TLS client', 'mailbox second: CA']) assert.ok(report.includes(owner), `${owner} in ${report}`);
    const health = JSON.stringify(await (await fetch(`${gw.baseUrl}/healthz`)).json());
    assert.match(health, /"mailbox":"second"/);
  });

  test('the secrets are sealed in the database: neither the password, the passphrase nor any key body is in its files', async () => {
    const files = readdirSync(dataDir).filter((f) => f.startsWith('gateway.db'));
    assert.ok(files.length > 0);
    const bytes = Buffer.concat(files.map((f) => readFileSync(path.join(dataDir, f)))).toString('latin1');
    assert.ok(bytes.includes('enc:v1:'), 'sealed values are stored');
    assert.ok(bytes.includes(bodyOf(pem(certs.smimeB.cert))[0] as string), 'the certificates are stored (the search would find text)');
    for (const secret of secrets) assert.ok(!bytes.includes(secret), 'a secret is readable in the database file');
  });

  test('every wrong field is named at once', async () => {
    const wrong = await call(
      gw,
      'POST',
      '/mailboxes',
      body('third', {
        address: 'not an address',
        pop3: { host: '127.0.0.1', port: 995, user: 'third' },
        // Key of another certificate, not PEM, garbage CA, S/MIME key of another certificate, wrong passphrase.
        tls: { cert: pem(certs.clientB.cert), key: pem(certs.clientA.key), ca: 'no certificate here' },
        smime: { cert: 'MIIB not pem', key: pem(certs.smimeA.key) },
        openpgp: { key: pgpKey, passphrase: 'wrong passphrase' },
        colour: 'blue',
      }),
    );
    assert.equal(wrong.status, 400, wrong.text);
    assert.deepEqual(issuePaths(wrong).sort(), ['address', 'colour', 'openpgp.passphrase', 'pop3.password', 'smime.cert', 'tls.ca', 'tls.key'].sort(), wrong.text);
    assert.match(wrong.text, /does not belong to tls\.cert/);

    const keys = await call(gw, 'POST', '/mailboxes', body('third', { tls: { cert: pem(certs.clientB.cert), ca: pem(certs.ca.cert) }, smime: { cert: pem(certs.smimeA.cert), key: pem(certs.smimeB.key) }, openpgp: { key: plainPgpKey, passphrase: 'x' } }));
    assert.equal(keys.status, 400, keys.text);
    assert.deepEqual(issuePaths(keys).sort(), ['openpgp.key', 'smime.key', 'tls.key'], keys.text);
    assert.match(keys.text, /not protected by a passphrase/);
    assert.match(keys.text, /does not belong to smime\.cert/);

    const taken = await call(gw, 'POST', '/mailboxes', body('main'));
    assert.equal(taken.status, 409, taken.text);
    assert.match(taken.text, /config file/);
    const again = await call(gw, 'POST', '/mailboxes', body());
    assert.equal(again.status, 409, again.text);
    assert.deepEqual(issuePaths(again), ['name']);
    // Taken and wrong otherwise: all named in one answer.
    const both = await call(gw, 'POST', '/mailboxes', body('second', { pollSeconds: 0 }));
    assert.equal(both.status, 400, both.text);
    assert.deepEqual(issuePaths(both).sort(), ['name', 'pollSeconds']);
    assert.equal(((await call(gw, 'GET', '/mailboxes')).body['items'] as unknown[]).length, 2, 'nothing made by a refused request');
  });

  test('changed at once: secrets left out are kept, the poller restarts, renaming refused, the config file\'s read-only', async () => {
    const before = (await call(gw, 'GET', '/mailboxes/second')).body;
    // What GET answered, put back with another S/MIME identity and interval: the password, the TLS key and the OpenPGP key stay.
    const { inbox: _, source: __, tls: ___, smime: ____, openpgp: _____, ...settings } = before;
    const changed = await call(gw, 'PUT', '/mailboxes/second', {
      ...settings,
      pollSeconds: 1800,
      tls: { cert: pem(certs.clientB.cert), ca: pem(certs.ca.cert) },
      smime: { cert: pem(certs.smimeA.cert), key: pem(certs.smimeA.key) },
      openpgp: {},
    });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body['pollSeconds'], 1800);
    assert.match((changed.body['smime'] as { certificate: { subject: string } }).certificate.subject, /CN=Site A/);
    assert.equal((changed.body['openpgp'] as { fingerprint: string }).fingerprint, pgpFingerprint);
    assert.ok(gw.logs.lines.some((l) => String(l['msg']).includes('poller restarted') && l['mailbox'] === 'second'));
    // The kept password is used: the new poller polls the same account.
    const polled = await call(gw, 'POST', '/mailboxes/second/poll');
    assert.match(String(polled.body['lastError']), /ECONNREFUSED/);

    const partial = await call(gw, 'PUT', '/mailboxes/second', { ...settings, name: 'renamed', tls: { cert: pem(certs.clientB.cert), key: pem(certs.smimeB.key), ca: pem(certs.ca.cert) }, smime: { cert: pem(certs.smimeA.cert) } });
    assert.equal(partial.status, 400, partial.text);
    assert.deepEqual(issuePaths(partial).sort(), ['name', 'tls.key']);

    const config = await call(gw, 'PUT', '/mailboxes/main', body('main'));
    assert.equal(config.status, 409, config.text);
    assert.match(config.text, /config file/);
    assert.equal((await call(gw, 'DELETE', '/mailboxes/main')).status, 409);
    assert.equal((await call(gw, 'PUT', '/mailboxes/nowhere', body('nowhere'))).status, 404);
    assert.equal((await call(gw, 'GET', '/mailboxes/nowhere')).status, 404);
  });

  test('a restart loads the mailbox from the database, with its sealed secrets', async () => {
    await gw.stop();
    gw = await startGateway(overrides);
    const got = await call(gw, 'GET', '/mailboxes/second');
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body['source'], 'api');
    assert.equal(got.body['pollSeconds'], 1800);
    assert.equal((got.body['openpgp'] as { fingerprint: string }).fingerprint, pgpFingerprint);
    assert.match((got.body['smime'] as { certificate: { subject: string } }).certificate.subject, /CN=Site A/);
    assert.ok(gw.logs.lines.some((l) => l['msg'] === 'OpenPGP key opened' && l['mailbox'] === 'second'));
  });

  test('deleting a mailbox a partner uses is refused naming the partner; once free, it goes with its poller', async () => {
    // The restarted gateway of the test before stopped when that test ended.
    gw = await startGateway(overrides);
    const partner = await call(gw, 'POST', '/partners', { name: 'Radiologie Nord', address: 'nord@partner.test', certificate: pem(certs.smimeB.cert), mailbox: 'second' });
    assert.equal(partner.status, 201, partner.text);
    const refused = await call(gw, 'DELETE', '/mailboxes/second');
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.text, /Radiologie Nord/);

    assert.equal((await call(gw, 'DELETE', '/partners/Radiologie%20Nord')).status, 204);
    assert.equal((await call(gw, 'DELETE', '/mailboxes/second')).status, 204);
    assert.equal((await call(gw, 'GET', '/mailboxes/second')).status, 404);
    assert.equal((await call(gw, 'POST', '/mailboxes/second/poll')).status, 404);
    assert.doesNotMatch(JSON.stringify((await call(gw, 'GET', '/certificates')).body), /mailbox second/);
    const noMailbox = await call(gw, 'POST', '/partners', { name: 'Radiologie Nord', address: 'nord@partner.test', certificate: pem(certs.smimeB.cert), mailbox: 'second' });
    assert.equal(noMailbox.status, 400);
    assert.match(noMailbox.text, /no such mailbox; there are: main/);

    // Gone for good: not back after a restart.
    await gw.stop();
    gw = await startGateway(overrides);
    assert.deepEqual(((await call(gw, 'GET', '/mailboxes')).body['items'] as { name: string }[]).map((m) => m.name), ['main']);
  });

  test('deleting a mailbox with a mail still queued from it is refused, also after its partner moved to another mailbox', async () => {
    gw = await startGateway(overrides);
    const created = await call(gw, 'POST', '/mailboxes', body('third', { address: 'third@site.test', openpgp: undefined }));
    assert.equal(created.status, 201, created.text);
    const partner = await call(gw, 'POST', '/partners', { name: 'Radiologie Süd', address: 'sued@partner.test', certificate: pem(certs.smimeB.cert), mailbox: 'third' });
    assert.equal(partner.status, 201, partner.text);
    const study = '1.2.826.0.1.3680043.2.1125.88.1';
    const instance = makeInstance(tempDir('gw-mailboxes-study-'), 'im', { sopInstanceUid: `${study}.1`, studyInstanceUid: study, seriesInstanceUid: `${study}.0` });
    assert.equal((await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), instance])).code, 0);
    // Its SMTP server is down: the mail waits in the queue for a retry.
    const queued = await gw.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'Radiologie Süd' }) });
    assert.equal(queued.status, 202, await queued.text());
    const moved = await call(gw, 'PUT', '/partners/Radiologie%20S%C3%BCd', { name: 'Radiologie Süd', address: 'sued@partner.test', certificate: pem(certs.smimeB.cert), mailbox: 'main' });
    assert.equal(moved.status, 200, moved.text);
    const busy = await call(gw, 'DELETE', '/mailboxes/third');
    assert.equal(busy.status, 409, busy.text);
    assert.deepEqual(issuePaths(busy), ['messages']);
    assert.match(busy.text, /1 mail\(s\) still queued/);
    assert.equal((await call(gw, 'GET', '/mailboxes/third')).status, 200);
  });
});

test('a gateway without any mailbox in its config file takes its first one through the API', async () => {
  const gw = await startGateway();
  assert.deepEqual((await call(gw, 'GET', '/mailboxes')).body['items'], []);
  const created = await call(gw, 'POST', '/mailboxes', body('first', { openpgp: undefined }));
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body['openpgp'], null);
  const partner = await call(gw, 'POST', '/partners', { name: 'Radiologie Nord', address: 'nord@partner.test', certificate: pem(certs.smimeB.cert), mailbox: 'first' });
  assert.equal(partner.status, 201, partner.text);
});
