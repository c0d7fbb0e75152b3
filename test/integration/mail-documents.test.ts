import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { makeInstance } from '../../fixtures/instances.ts';
import { tinyPdf } from '../../fixtures/pdf.ts';
import { runTool } from '../support/dcmtk.ts';
import { startGateway } from '../support/gateway.ts';
import { makeMailCertificates } from '../support/mail-servers.ts';
import { freePort } from '../support/ports.ts';
import { tempDir } from '../support/temp.ts';

// PDFs handed to the send API are kept durably with their mail until it is sent: a restart while the
// partner's server is down loses nothing. No mail server here (mail-relay.test.ts sends them for real).

const certs = makeMailCertificates();
const closedPort = await freePort();
const dataDir = tempDir('gw-mail-documents-');
after(() => rmSync(dataDir, { recursive: true, force: true }));
const overrides = {
  dataDir,
  mail: {
    mailboxes: [
      {
        name: 'main',
        address: 'a@site-a.test',
        smtp: { host: '127.0.0.1', port: closedPort },
        pop3: { host: '127.0.0.1', port: closedPort, user: 'a', password: 'x' },
        tls: { cert: certs.clientA.cert, key: certs.clientA.key, ca: certs.ca.cert },
        smime: { cert: certs.smimeA.cert, key: certs.smimeA.key },
        pollSeconds: 3600,
      },
    ],
  },
};

type Queued = { id: number; state: string; sendId: string; documents: { title: string; file: string; size: number; sha256: string }[] };

test('PDFs of a queued send survive a restart with their mail and go when it is cancelled; too many or too large are refused by name', async () => {
  const study = '1.2.826.0.1.3680043.2.1125.89.1';
  const pdfs = [tinyPdf('one'), tinyPdf('two')];
  let gw = await startGateway(overrides);
  const partner = await gw.api('/api/v1/mail/partners', { method: 'POST', body: JSON.stringify({ name: 'B', address: 'b@partner-b.test', certificate: readFileSync(certs.smimeB.cert, 'utf8'), mailbox: 'main' }) });
  assert.equal(partner.status, 201, await partner.text());
  const instance = makeInstance(tempDir('gw-mail-documents-study-'), 'im', { sopInstanceUid: `${study}.1`, studyInstanceUid: study, seriesInstanceUid: `${study}.0` });
  assert.equal((await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), instance])).code, 0);
  const send = (attachments: unknown) => gw.api(`/api/v1/studies/${study}/send`, { method: 'POST', body: JSON.stringify({ partner: 'B', attachments }) });

  const tooMany = await send(Array.from({ length: 11 }, (_, i) => ({ title: `d${i}`, contentBase64: pdfs[0]?.toString('base64') })));
  assert.equal(tooMany.status, 400);
  assert.match(await tooMany.text(), /"path":"attachments".*at most 10 documents/);
  // 51 MB: over the per-document limit, named with its size (the body itself is within the route's limit).
  const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(51 * 1024 * 1024, 0x20)]);
  const tooBig = await send([{ title: 'big', contentBase64: big.toString('base64') }]);
  assert.equal(tooBig.status, 400);
  assert.match(await tooBig.text(), /attachments\[0\]\.contentBase64.*a document may have at most 52428800/);

  const accepted = await send(pdfs.map((p, i) => ({ title: `Befund ${i + 1}`, contentBase64: p.toString('base64') })));
  assert.equal(accepted.status, 202);
  const [mail] = ((await accepted.json()) as { items: Queued[] }).items;
  assert.ok(mail !== undefined);
  assert.deepEqual(mail.documents.map((d) => [d.title, d.size, d.sha256]), pdfs.map((p, i) => [`Befund ${i + 1}`, p.length, createHash('sha256').update(p).digest('hex')]));

  // The server is down: the mail waits. A restart keeps it, its PDFs and their bytes.
  await gw.stop();
  gw = await startGateway(overrides);
  const kept = (await (await gw.api(`/api/v1/mail/messages/${mail.id}`)).json()) as Queued;
  assert.equal(kept.state, 'queued');
  assert.deepEqual(kept.documents, mail.documents);
  kept.documents.forEach((d, i) => assert.ok(readFileSync(path.join(dataDir, 'mail', d.file)).equals(pdfs[i] as Buffer), `PDF ${i} differs after the restart`));

  // Sent to the wrong partner? Stopped before it goes: cancelled, its PDFs removed, and its send job,
  // when its retry comes, sends nothing.
  const cancelled = await gw.api(`/api/v1/mail/messages/${mail.id}/cancel`, { method: 'POST' });
  assert.equal(cancelled.status, 200);
  const stopped = (await cancelled.json()) as Queued & { attempts: number };
  assert.equal(stopped.state, 'cancelled');
  for (const d of kept.documents) assert.equal(existsSync(path.join(dataDir, 'mail', d.file)), false);
  const relay = gw.gateway.mail;
  assert.ok(relay !== undefined);
  const attempted = await relay.outbound.send(mail.id, { last: false });
  assert.deepEqual([attempted.state, attempted.attempts], ['cancelled', stopped.attempts]);
  const again = await gw.api(`/api/v1/mail/messages/${mail.id}/cancel`, { method: 'POST' });
  assert.equal(again.status, 409);
  assert.match(await again.text(), /the mail is cancelled; only queued or failed mails are cancelled/);
  assert.equal((await gw.api('/api/v1/mail/messages/999999/cancel', { method: 'POST' })).status, 404);
  await gw.stop();
});
