import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Database, MailRepository } from '../../../src/db/index.ts';
import { tempDir } from '../../support/temp.ts';

// The records behind the receipt and set flags: a sent mail stays unacknowledged until its receipt,
// and a received set counts its imported parts (each part once).
const db = Database.open({ file: path.join(tempDir('gw-mail-overdue-'), 'gateway.db') });
const mail = new MailRepository(db);
const partner = mail.insertPartner({ name: 'P', address: 'p@partner.test', format: 'smime', certificate: 'x', openpgpKey: null, legacy: { sha1: false, oldKeyTypes: false, inlinePgp: false }, mailbox: 'main', maxMailBytes: 1000, routes: { devices: [], modalities: [] } }, '2026-01-01T00:00:00.000Z');

test('a sent mail without receipt is listed as unacknowledged after the cutoff, not once acknowledged', () => {
  const ids = db.transaction((tx) =>
    [1, 2].map((part) =>
      mail.insertOutbound(tx, { sendId: 's', partnerId: partner.id, partnerName: 'P', recipient: 'p@partner.test', mailbox: 'main', studyInstanceUid: '1.2', part, parts: 2, instanceIds: [part], messageId: `s.${part}@us.test`, trigger: 'api' }, '2026-01-01T00:00:00.000Z'),
    ),
  );
  for (const id of ids) mail.updateOutbound(id, { state: 'sent', sentAt: '2026-01-01T10:00:00.000Z' }, '2026-01-01T10:00:00.000Z');
  assert.deepEqual(mail.unacknowledgedBefore('2026-01-01T09:00:00.000Z'), [], 'not yet overdue');
  assert.deepEqual(mail.unacknowledgedBefore('2026-01-02T11:00:00.000Z').map((m) => m.id), ids);
  assert.ok(mail.acknowledge('p@partner.test', 's.1@us.test', '2026-01-01T12:00:00.000Z'));
  assert.deepEqual(mail.unacknowledgedBefore('2026-01-02T11:00:00.000Z').map((m) => m.id), [ids[1]]);
});

test('a received set counts each imported part once and is complete when all are there', () => {
  const row = (uidl: string, part: number) => {
    const r = mail.insertInbound({ mailbox: 'main', uidl, state: 'stored', rawPath: null, size: 1 }, '2026-01-01T00:00:00.000Z');
    mail.updateInbound(r.id, { state: 'imported', sender: 'p@partner.test', setId: 'set-1', setPart: part, setParts: 3 }, '2026-01-01T00:00:00.000Z');
  };
  row('u1', 1);
  row('u1-again', 1);
  row('u3', 3);
  assert.deepEqual(mail.receivedSets({ incomplete: true, limit: 10, offset: 0 }).map((s) => [s.setId, s.imported, s.parts, s.complete]), [['set-1', 2, 3, false]]);
  assert.equal(mail.importedOfSet('main', 'p@partner.test', 'set-1').length, 2);
  row('u2', 2);
  assert.deepEqual(mail.receivedSets({ incomplete: true, limit: 10, offset: 0 }), []);
  assert.deepEqual(mail.receivedSets({ limit: 10, offset: 0 }).map((s) => s.complete), [true]);
});
