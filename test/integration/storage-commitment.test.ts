import assert from 'node:assert/strict';
import { rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import dimse from 'dcmjs-dimse';
import { ManualClock } from '../../src/clock.ts';
import type { ConfigInput } from '../../src/config/index.ts';
import { ctImageStorage, makeInstance } from '../../fixtures/instances.ts';
import { makeCertificates, runTool } from '../support/dcmtk.ts';
import { startReportListener, TestAssociation, type ProposedContextSpec } from '../support/dimse-client.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { WorkerProcess } from '../../src/worker.ts';
import { LogCapture } from '../support/log-capture.ts';
import { freePort } from '../support/ports.ts';
import { startRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

const commitmentClass = '1.2.840.10008.1.20.1';
const commitmentInstance = '1.2.840.10008.1.20.1.1';
const mrImageStorage = '1.2.840.10008.5.1.4.1.1.4';
const uidBase = '1.2.826.0.1.3680043.2.1125.77';
const commitmentContext: ProposedContextSpec = { abstractSyntax: commitmentClass };

interface CommitmentView {
  id: number;
  transactionUid: string;
  state: string;
  reportOn: string;
  committed: number;
  failed: number;
  deliveredVia: string | null;
  reason: string | null;
  job: { id: number; state: string; attempts: number; nextAttemptAt: string | null; lastError: string | null } | null;
  references: { sopClassUid: string; sopInstanceUid: string; failureReason: number | null }[];
}

function device(port: number, commitmentReport: 'same-association' | 'new-association'): ConfigInput {
  return { devices: [{ aeTitle: 'US_1', host: '127.0.0.1', port, commitmentReport }] };
}

/** Stores instances with DCMTK storescu as the device; returns their SOP Instance UIDs. */
async function storeInstances(gw: RunningGateway, count: number, tag: string): Promise<string[]> {
  const dir = tempDir();
  const uids = Array.from({ length: count }, (_, i) => `${uidBase}.${tag}.${i + 1}`);
  const files = uids.map((uid, i) => makeInstance(dir, `i${i}`, { sopInstanceUid: uid, rows: 16, columns: 16 }));
  const result = await runTool('storescu', ['-aet', 'US_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), ...files]);
  assert.equal(result.code, 0, result.output);
  return uids;
}

function commitmentRequest(transactionUid: string, references: { sopClassUid: string; sopInstanceUid: string }[], options: { actionTypeId?: number; sopInstanceUid?: string } = {}) {
  const request = new dimse.requests.NActionRequest(commitmentClass, options.sopInstanceUid ?? commitmentInstance, options.actionTypeId ?? 1);
  request.setDataset(
    new dimse.Dataset({
      TransactionUID: transactionUid,
      ReferencedSOPSequence: references.map((r) => ({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid })),
    }),
  );
  return request;
}

const ct = (sopInstanceUid: string) => ({ sopClassUid: ctImageStorage, sopInstanceUid });

/** Sequence items as plain values (dcmjs adds its VR map to each item). */
function items(value: unknown): Record<string, unknown>[] {
  return (value as Record<string, unknown>[]).map(({ _vrMap, ...rest }) => rest);
}

async function commitments(gw: RunningGateway, query = ''): Promise<CommitmentView[]> {
  const res = await gw.api(`/api/v1/storage-commitments${query}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: CommitmentView[] }).items;
}

async function commitment(gw: RunningGateway, id: number): Promise<CommitmentView> {
  const res = await gw.api(`/api/v1/storage-commitments/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as CommitmentView;
}

describe('Storage Commitment Push Model SCP', () => {
  test('commits stored instances and reports success on the same association', async () => {
    const gw = await startGateway(device(await freePort(), 'same-association'));
    const uids = await storeInstances(gw, 3, '1');
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    const answer = await peer.send(commitmentRequest(`${uidBase}.100`, uids.map(ct)));
    assert.equal(answer.status, 0);
    const [report] = await peer.waitForReports(1);
    await peer.release();
    assert.ok(report !== undefined);
    assert.equal(report.sopClassUid, commitmentClass);
    assert.equal(report.sopInstanceUid, commitmentInstance);
    assert.equal(report.eventTypeId, 1);
    assert.equal(report.dataset['TransactionUID'], `${uidBase}.100`);
    assert.deepEqual(
      (report.dataset['ReferencedSOPSequence'] as Record<string, unknown>[]).map((i) => i['ReferencedSOPInstanceUID']),
      uids,
    );
    assert.equal(report.dataset['FailedSOPSequence'], undefined);

    const [listed] = await waitFor(async () => {
      const items = await commitments(gw);
      return items[0]?.state === 'delivered' ? items : undefined;
    });
    assert.equal(listed?.transactionUid, `${uidBase}.100`);
    assert.equal(listed?.deliveredVia, 'same-association');
    assert.equal(listed?.committed, 3);
    assert.equal(listed?.failed, 0);
    assert.equal(listed?.job, null);
  });

  test('partial failure: an unknown instance and a class conflict go in the Failed SOP Sequence', async () => {
    const gw = await startGateway(device(await freePort(), 'same-association'));
    const [stored, other] = await storeInstances(gw, 2, '2');
    assert.ok(stored !== undefined && other !== undefined);
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    const unknown = `${uidBase}.2.404`;
    const answer = await peer.send(commitmentRequest(`${uidBase}.200`, [ct(stored), ct(unknown), { sopClassUid: mrImageStorage, sopInstanceUid: other }]));
    assert.equal(answer.status, 0);
    const [report] = await peer.waitForReports(1);
    await peer.release();
    assert.equal(report?.eventTypeId, 2);
    assert.deepEqual(items(report?.dataset['ReferencedSOPSequence']), [{ ReferencedSOPClassUID: ctImageStorage, ReferencedSOPInstanceUID: stored }]);
    assert.deepEqual(items(report?.dataset['FailedSOPSequence']), [
      { ReferencedSOPClassUID: ctImageStorage, ReferencedSOPInstanceUID: unknown, FailureReason: 0x0112 },
      { ReferencedSOPClassUID: mrImageStorage, ReferencedSOPInstanceUID: other, FailureReason: 0x0119 },
    ]);
    const [listed] = await commitments(gw, `?transactionUid=${uidBase}.200`);
    assert.ok(listed !== undefined);
    const detail = await commitment(gw, listed.id);
    assert.deepEqual(
      detail.references.map((r) => r.failureReason),
      [null, 0x0112, 0x0119],
    );
  });

  test('an instance whose file is gone is not committed (processing failure)', async () => {
    const gw = await startGateway(device(await freePort(), 'same-association'));
    const [uid] = await storeInstances(gw, 1, '3');
    assert.ok(uid !== undefined);
    const row = (await (await gw.api(`/api/v1/instances/${uid}`)).json()) as { path: string };
    unlinkSync(path.join(gw.config.dataDir, 'archive', row.path));
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.300`, [ct(uid)]))).status, 0);
    const [report] = await peer.waitForReports(1);
    await peer.release();
    assert.equal(report?.eventTypeId, 2);
    assert.deepEqual(items(report?.dataset['FailedSOPSequence']), [{ ReferencedSOPClassUID: ctImageStorage, ReferencedSOPInstanceUID: uid, FailureReason: 0x0110 }]);
  });

  test('malformed requests get their failure status and the association goes on', async () => {
    const gw = await startGateway(device(await freePort(), 'same-association'));
    const [uid] = await storeInstances(gw, 1, '4');
    assert.ok(uid !== undefined);
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });

    const noTransaction = new dimse.requests.NActionRequest(commitmentClass, commitmentInstance, 1);
    noTransaction.setDataset(new dimse.Dataset({ ReferencedSOPSequence: [{ ReferencedSOPClassUID: ctImageStorage, ReferencedSOPInstanceUID: uid }] }));
    const a = await peer.send(noTransaction);
    assert.equal(a.status, 0x0115);
    assert.match(a.comment ?? '', /Transaction UID is missing/);

    const emptySequence = new dimse.requests.NActionRequest(commitmentClass, commitmentInstance, 1);
    emptySequence.setDataset(new dimse.Dataset({ TransactionUID: `${uidBase}.401`, ReferencedSOPSequence: [] }));
    const b = await peer.send(emptySequence);
    assert.equal(b.status, 0x0115);
    assert.match(b.comment ?? '', /Referenced SOP Sequence is missing or empty/);

    const badItems = await peer.send(commitmentRequest('1.02.3', [{ sopClassUid: ctImageStorage, sopInstanceUid: '' }]));
    assert.equal(badItems.status, 0x0115);
    assert.match(badItems.comment ?? '', /Transaction UID is not a valid UID \(\+1 more\)/);
    assert.ok((badItems.comment ?? '').length <= 64);
    const logged = gw.logs.lines.find((l) => l['msg'] === 'storage commitment request refused' && JSON.stringify(l['issues']).includes('item 1: Referenced SOP Instance UID is missing'));
    assert.ok(logged !== undefined, 'every problem is logged');

    assert.equal((await peer.send(commitmentRequest(`${uidBase}.402`, [ct(uid)], { actionTypeId: 2 }))).status, 0x0123);
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.403`, [ct(uid)], { sopInstanceUid: '1.2.3.4' }))).status, 0x0112);
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.404`, [ct(uid)], { sopInstanceUid: 'x.y' }))).status, 0x0117);
    assert.equal(peer.reports.length, 0);
    assert.equal((await commitments(gw)).length, 0, 'refused requests are not recorded');

    // The same association still serves a good request.
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.405`, [ct(uid)]))).status, 0);
    const [report] = await peer.waitForReports(1);
    await peer.release();
    assert.equal(report?.eventTypeId, 1);
  });

  test('role selection: SCU role accepted for the requestor, SCP-only proposals rejected', async () => {
    const gw = await startGateway(device(await freePort(), 'same-association'));
    const both = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [{ abstractSyntax: commitmentClass, roles: { scu: true, scp: true } }] });
    const context = both.association.getPresentationContexts()[0]?.context;
    assert.equal(context?.getResult(), dimse.constants.PresentationContextResult.Accept);
    assert.equal(context?.getUserRole(), true);
    assert.equal(context?.getProviderRole(), false);
    await both.release();

    const scpOnly = await TestAssociation.open(gw.ports.dicom, {
      callingAeTitle: 'US_1',
      contexts: [{ abstractSyntax: commitmentClass, roles: { scu: false, scp: true } }, { abstractSyntax: '1.2.840.10008.1.1' }],
    });
    const [first, second] = scpOnly.association.getPresentationContexts();
    assert.equal(first?.context.getResult(), dimse.constants.PresentationContextResult.RejectUser);
    assert.equal(second?.context.getResult(), dimse.constants.PresentationContextResult.Accept);
    await scpOnly.release();
  });

  test('a device not allowed to use storage commitment has the context rejected; the API refuses bad queries', async () => {
    const gw = await startGateway({ devices: [{ aeTitle: 'US_1', services: ['store'] }] });
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext, { abstractSyntax: ctImageStorage }] });
    const [commitmentPc, storePc] = peer.association.getPresentationContexts();
    assert.equal(commitmentPc?.context.getResult(), dimse.constants.PresentationContextResult.RejectUser);
    assert.equal(storePc?.context.getResult(), dimse.constants.PresentationContextResult.Accept);
    await peer.release();
    assert.equal((await gw.api('/api/v1/storage-commitments/999')).status, 404);
    const bad = await gw.api('/api/v1/storage-commitments?limit=0&colour=red');
    assert.equal(bad.status, 400);
    const problem = JSON.stringify(await bad.json());
    assert.match(problem, /limit/);
    assert.match(problem, /colour/);
  });

  test('new-association devices get the report on an association we open, with the SCP role', async () => {
    const port = await freePort();
    const listener = await startReportListener(port);
    try {
      const gw = await startGateway(device(port, 'new-association'));
      const uids = await storeInstances(gw, 2, '5');
      const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
      assert.equal((await peer.send(commitmentRequest(`${uidBase}.500`, uids.map(ct)))).status, 0);
      await peer.release();
      assert.equal(peer.reports.length, 0, 'nothing on the request association');
      await waitFor(() => listener.reports.length > 0, { what: 'the report on a new association' });
      const [report] = listener.reports;
      assert.equal(report?.eventTypeId, 1);
      assert.equal(report?.dataset['TransactionUID'], `${uidBase}.500`);
      assert.deepEqual(listener.proposedRoles, [{ scu: false, scp: true }]);
      assert.deepEqual(listener.callingAeTitles, ['DICOM_GATEWAY']);
      const [listed] = await waitFor(async () => {
        const items = await commitments(gw);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(listed?.deliveredVia, 'new-association');
      assert.equal(listed?.job?.state, 'completed');
    } finally {
      listener.stop();
    }
  });

  test('a report the device refuses on its association goes on a new association', async () => {
    const port = await freePort();
    const listener = await startReportListener(port);
    try {
      const gw = await startGateway(device(port, 'same-association'));
      const uids = await storeInstances(gw, 1, '6');
      const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
      peer.reportStatus = 0x0110;
      assert.equal((await peer.send(commitmentRequest(`${uidBase}.600`, uids.map(ct)))).status, 0);
      await peer.waitForReports(1);
      await peer.release();
      await waitFor(() => listener.reports.length > 0, { what: 'the report on a new association' });
      const [listed] = await waitFor(async () => {
        const items = await commitments(gw);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(listed?.deliveredVia, 'new-association');
    } finally {
      listener.stop();
    }
  });

  test('a device that releases without answering the report on its association gets it on a new one', async () => {
    const port = await freePort();
    const listener = await startReportListener(port);
    try {
      const gw = await startGateway(device(port, 'same-association'));
      const uids = await storeInstances(gw, 1, '11');
      const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
      peer.reportStatus = undefined;
      assert.equal((await peer.send(commitmentRequest(`${uidBase}.1100`, uids.map(ct)))).status, 0);
      await peer.waitForReports(1);
      // The release is answered although the report is unanswered (else this waits for the idle timeout).
      await peer.release();
      await waitFor(() => listener.reports.length > 0, { what: 'the report on a new association' });
      const [listed] = await waitFor(async () => {
        const items = await commitments(gw);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(listed?.deliveredVia, 'new-association');
    } finally {
      listener.stop();
    }
  });

  test('a device that speaks TLS gets the report over TLS, with our client certificate; a wrong CA fails for good', async () => {
    const certs = makeCertificates(tempDir('gw-commit-tls-'));
    const port = await freePort();
    // The device's listener: the test CA's server certificate (for 127.0.0.1); it requires a client certificate.
    const listener = await startReportListener(port, { tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.caCert } });
    try {
      const gw = await startGateway({
        devices: [{ aeTitle: 'US_1', host: '127.0.0.1', port, tls: true, commitmentReport: 'new-association' }],
        dicom: { tls: { enabled: false, cert: certs.clientCert, key: certs.clientKey, ca: certs.caCert } },
      });
      const uids = await storeInstances(gw, 1, '12');
      const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
      assert.equal((await peer.send(commitmentRequest(`${uidBase}.1200`, uids.map(ct)))).status, 0);
      await peer.release();
      await waitFor(() => listener.reports.length > 0, { what: 'the report over TLS' });
      assert.deepEqual(listener.clientCertificates, ['MODALITY1']);
      const [listed] = await waitFor(async () => {
        const items = await commitments(gw);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(listed?.deliveredVia, 'new-association');

      // A gateway that does not trust the device's CA: refused by us, not retried.
      const other = makeCertificates(tempDir('gw-commit-tls-other-'));
      const untrusting = await startGateway({
        devices: [{ aeTitle: 'US_1', host: '127.0.0.1', port, tls: true, commitmentReport: 'new-association' }],
        dicom: { tls: { enabled: false, cert: certs.clientCert, key: certs.clientKey, ca: other.caCert } },
      });
      const more = await storeInstances(untrusting, 1, '13');
      const second = await TestAssociation.open(untrusting.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
      assert.equal((await second.send(commitmentRequest(`${uidBase}.1300`, more.map(ct)))).status, 0);
      await second.release();
      const [failed] = await waitFor(async () => {
        const items = await commitments(untrusting);
        return items[0]?.state === 'failed' ? items : undefined;
      });
      assert.equal(failed?.job?.attempts, 1);
      assert.match(failed?.reason ?? '', /over TLS/);
      assert.equal(listener.reports.length, 1);
    } finally {
      listener.stop();
    }
  });

  test('a device that is off is tried again with backoff and gets the report once it is on', async () => {
    const clock = new ManualClock();
    const port = await freePort();
    const gw = await startGateway({ ...device(port, 'new-association'), archive: { storageCommitment: { retryBaseSeconds: 30 } } }, { clock });
    const uids = await storeInstances(gw, 1, '7');
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.700`, uids.map(ct)))).status, 0);
    await peer.release();
    const waiting = await waitFor(async () => {
      const [c] = await commitments(gw);
      return c?.job?.attempts === 1 && c.job.state === 'queued' ? c : undefined;
    }, { what: 'the first failed attempt' });
    assert.equal(waiting.state, 'queued');
    assert.match(waiting.job?.lastError ?? '', /cannot reach US_1 at 127\.0\.0\.1/);
    assert.equal(waiting.job?.nextAttemptAt, new Date(clock.now().getTime() + 30_000).toISOString());

    const listener = await startReportListener(port);
    try {
      clock.advance(30_000);
      await waitFor(() => listener.reports.length > 0, { what: 'the report after the retry' });
      const [delivered] = await waitFor(async () => {
        const items = await commitments(gw);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(delivered?.job?.attempts, 2);
    } finally {
      listener.stop();
    }
  });

  test('a restart between the N-ACTION and the report loses nothing', async () => {
    const dataDir = tempDir('gw-commit-restart-');
    const port = await freePort();
    const overrides: ConfigInput = { ...device(port, 'new-association'), dataDir };
    const clock = new ManualClock();
    const first = await startGateway(overrides, { clock });
    const uids = await storeInstances(first, 2, '8');
    const peer = await TestAssociation.open(first.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.800`, uids.map(ct)))).status, 0);
    await peer.release();
    await waitFor(async () => ((await commitments(first))[0]?.job?.attempts === 1 ? true : undefined), { what: 'the first failed attempt' });
    await first.stop();

    const listener = await startReportListener(port);
    try {
      const secondClock = new ManualClock(clock.now());
      const second = await startGateway(overrides, { clock: secondClock });
      secondClock.advance(60_000);
      await waitFor(() => listener.reports.length > 0, { what: 'the report after the restart' });
      assert.equal(listener.reports[0]?.dataset['TransactionUID'], `${uidBase}.800`);
      assert.equal((listener.reports[0]?.dataset['ReferencedSOPSequence'] as unknown[]).length, 2);
      const [delivered] = await waitFor(async () => {
        const items = await commitments(second);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(delivered?.deliveredVia, 'new-association');
      await second.stop();
    } finally {
      listener.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a report recorded for the association but not yet sent when the gateway died goes on a new association at start', async () => {
    const dataDir = tempDir('gw-commit-recover-');
    const port = await freePort();
    const overrides: ConfigInput = { ...device(port, 'same-association'), dataDir };
    const first = await startGateway(overrides);
    const uids = await storeInstances(first, 1, '10');
    const peer = await TestAssociation.open(first.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.1000`, uids.map(ct)))).status, 0);
    await peer.waitForReports(1);
    await peer.release();
    await first.stop();
    // What a crash between the commit of the request and the report on the association leaves.
    const db = new DatabaseSync(path.join(dataDir, 'gateway.db'));
    db.exec(`UPDATE storage_commitments SET state = 'awaiting-association', delivered_at = NULL, delivered_via = NULL`);
    db.close();

    const listener = await startReportListener(port);
    try {
      const second = await startGateway(overrides);
      await waitFor(() => listener.reports.length > 0, { what: 'the recovered report' });
      assert.equal(listener.reports[0]?.dataset['TransactionUID'], `${uidBase}.1000`);
      const [delivered] = await waitFor(async () => {
        const items = await commitments(second);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(delivered?.deliveredVia, 'new-association');
      await second.stop();
    } finally {
      listener.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('Redis driver: a worker process, which has no database, delivers the report from its file; the gateway records it', async () => {
    const redis = await startRedis();
    const port = await freePort();
    const listener = await startReportListener(port);
    let worker: WorkerProcess | undefined;
    try {
      const gw = await startGateway({ ...device(port, 'new-association'), queue: { driver: 'redis', redisUrl: redis.url, prefix: `commit-${port}`, runWorkers: false } });
      worker = new WorkerProcess({ config: gw.config, stdout: new LogCapture(), types: ['storage-commitment-report'] });
      await worker.start();
      const uids = await storeInstances(gw, 1, '14');
      const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
      assert.equal((await peer.send(commitmentRequest(`${uidBase}.1400`, uids.map(ct)))).status, 0);
      await peer.release();
      await waitFor(() => listener.reports.length > 0, { what: 'the report from the worker' });
      assert.equal(listener.reports[0]?.dataset['TransactionUID'], `${uidBase}.1400`);
      const [listed] = await waitFor(async () => {
        const items = await commitments(gw);
        return items[0]?.state === 'delivered' ? items : undefined;
      });
      assert.equal(listed?.deliveredVia, 'new-association');
      await gw.stop();
    } finally {
      await worker?.stop();
      listener.stop();
    }
  });

  test('a device without a registered address: the report waits for nothing and the API says why', async () => {
    const gw = await startGateway({ devices: [{ aeTitle: 'US_1', commitmentReport: 'new-association' }] });
    const uids = await storeInstances(gw, 1, '9');
    const peer = await TestAssociation.open(gw.ports.dicom, { callingAeTitle: 'US_1', contexts: [commitmentContext] });
    assert.equal((await peer.send(commitmentRequest(`${uidBase}.900`, uids.map(ct)))).status, 0);
    await peer.release();
    const [listed] = await commitments(gw);
    assert.equal(listed?.state, 'failed');
    assert.match(listed?.reason ?? '', /no registered host and port/);
  });
});
