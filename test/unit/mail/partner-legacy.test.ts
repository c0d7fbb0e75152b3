import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Database, MailRepository } from '../../../src/db/index.ts';
import { partnerInputSchema } from '../../../src/mail/partners.ts';
import { tempDir } from '../../support/temp.ts';

// The per-partner OpenPGP exceptions: all off unless granted, one at a time, and rows stored before
// an exception existed read it as off.
const input = { name: 'P', address: 'p@partner.test', mailbox: 'main', format: 'openpgp' };

test('the legacy exceptions default to off, each can be granted alone, unknown ones are refused', () => {
  assert.deepEqual(partnerInputSchema.parse(input).legacy, { sha1: false, oldKeyTypes: false, inlinePgp: false });
  assert.deepEqual(partnerInputSchema.parse({ ...input, legacy: { inlinePgp: true } }).legacy, { sha1: false, oldKeyTypes: false, inlinePgp: true });
  const typo = partnerInputSchema.safeParse({ ...input, legacy: { inlinePGP: true } });
  assert.equal(typo.success, false);
  assert.match(JSON.stringify(typo.error?.issues), /inlinePGP/);
  assert.equal(partnerInputSchema.safeParse({ ...input, legacy: { inlinePgp: 'yes' } }).success, false);
});

test('a partner stored before legacy.inlinePgp existed reads it as off', () => {
  const db = Database.open({ file: path.join(tempDir('gw-partner-legacy-'), 'gateway.db') });
  const mail = new MailRepository(db);
  const stored = mail.insertPartner({ name: 'Old', address: 'old@partner.test', format: 'openpgp', certificate: '', openpgpKey: null, legacy: { sha1: true, oldKeyTypes: false, inlinePgp: true }, mailbox: 'main', maxMailBytes: 1000, routes: { devices: [], modalities: [] } }, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(mail.partner('Old')?.legacy, { sha1: true, oldKeyTypes: false, inlinePgp: true });
  // What migration 0010 and earlier code wrote.
  db.statement('UPDATE mail_partners SET legacy = ? WHERE id = ?').run('{"sha1":true,"oldKeyTypes":false}', stored.id);
  assert.deepEqual(mail.partner('Old')?.legacy, { sha1: true, oldKeyTypes: false, inlinePgp: false });
  db.close();
});
