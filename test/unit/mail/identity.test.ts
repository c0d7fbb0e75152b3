import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { GatewayError } from '../../../src/domain/errors.ts';
import { loadMailboxes, type MailboxConfig } from '../../../src/mail/identity.ts';
import { makeMailCertificates } from '../../support/mail-servers.ts';

// The config file's mailboxes go through the same checks as the API's (mail-mailboxes.test.ts), with
// the config path in front of each field.

const certs = makeMailCertificates();

function config(over: Partial<Pick<MailboxConfig, 'tls' | 'smime'>>): MailboxConfig {
  return {
    name: 'main',
    address: 'main@site.test',
    smtp: { host: 'localhost', port: 587, security: 'starttls' },
    pop3: { host: 'localhost', port: 995, user: 'main', password: 'x' },
    tls: { cert: certs.clientA.cert, key: certs.clientA.key, ca: certs.ca.cert },
    smime: { cert: certs.smimeA.cert, key: certs.smimeA.key },
    pollSeconds: 60,
    ...over,
  };
}

test('a config mailbox with good files loads, marked as from the config file', () => {
  const [box] = loadMailboxes([config({})]);
  assert.equal(box?.source, 'config');
  assert.equal(box?.config.name, 'main');
  assert.equal('tls' in (box?.config ?? {}), false, 'the file paths are not part of the settings');
});

test('every wrong file of every config mailbox is named by its path in the config', () => {
  const notPem = path.join(certs.dir, 'not-pem.txt');
  writeFileSync(notPem, 'hello');
  assert.throws(
    () =>
      loadMailboxes([
        config({ tls: { cert: certs.clientA.cert, key: certs.clientB.key, ca: notPem } }),
        config({ smime: { cert: notPem, key: path.join(certs.dir, 'missing.key') } }),
        config({ smime: { cert: certs.smimeA.cert, key: certs.smimeB.key } }),
      ]),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ['mail.mailboxes[0].tls.key', 'mail.mailboxes[0].tls.ca', 'mail.mailboxes[1].smime.key', 'mail.mailboxes[2].smime.key'],
        JSON.stringify(err.issues),
      );
      assert.match(err.issues[0]?.message ?? '', /does not belong to tls\.cert/);
      assert.match(err.issues[2]?.message ?? '', /cannot read .*ENOENT/);
      assert.match(err.issues[3]?.message ?? '', /does not belong to smime\.cert/);
      return true;
    },
  );
});
