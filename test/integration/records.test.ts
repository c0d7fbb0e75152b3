import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { z } from 'zod';
import { instanceReceivedType } from '../../src/archive/instance-received-job.ts';
import type { ConfigInput } from '../../src/config/index.ts';
import type { AnyJobDefinition } from '../../src/jobs/index.ts';
import { ArchiveRepository } from '../../src/db/index.ts';
import type { DerivedFile } from '../../src/domain/derived-file.ts';
import type { FilingOutcome } from '../../src/records/index.ts';
import { makeInstance, type InstanceFields } from '../../fixtures/instances.ts';
import { runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

interface Entry {
  id: number;
  seq: number;
  type: string;
  title: string;
  date: string;
  text: string;
  source: string;
  studyInstanceUid: string;
  patient: { patientId: string; issuer: string } | null;
  unassignedReason: string | null;
  attachments: { n: number; kind: string; mediaType: string; bytes: number; sha256: string; sopInstanceUid: string; url: string }[];
}

let uidCounter = 0;
/** Fresh study and SOP instance UIDs for each instance a test sends. */
function uids(study?: string): { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string } {
  uidCounter += 1;
  const base = `1.2.826.0.1.3680043.10.999.7${process.pid % 1000}.${uidCounter}`;
  return { studyInstanceUid: study ?? `${base}.1`, seriesInstanceUid: `${base}.2`, sopInstanceUid: `${base}.3` };
}

/**
 * The gateway with rendering replaced by a stand-in that files nothing: these tests hand the records
 * service the derived files themselves (rendering's own filing is tested below, end to end).
 */
const renderStandIn: AnyJobDefinition = { type: instanceReceivedType, payload: z.unknown(), handler: async () => ({}) };
function start(overrides: ConfigInput = {}): Promise<RunningGateway> {
  return startGateway(overrides, { jobs: { definitions: [renderStandIn] } });
}

/** Stores an instance with storescu and returns its index id and UIDs. */
async function store(gw: RunningGateway, fields: Omit<InstanceFields, 'sopInstanceUid'> & { studyInstanceUid?: string }): Promise<{ instanceId: number; sopInstanceUid: string; studyInstanceUid: string }> {
  const ids = uids(fields.studyInstanceUid);
  const file = makeInstance(tempDir(), `${ids.sopInstanceUid}.dcm`, { ...fields, ...ids });
  const r = await runTool('storescu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), file]);
  assert.equal(r.code, 0, r.output);
  const stored = new ArchiveRepository(gw.gateway.db).instance(ids.sopInstanceUid);
  assert.ok(stored, 'the instance is indexed');
  return { instanceId: stored.id, sopInstanceUid: ids.sopInstanceUid, studyInstanceUid: ids.studyInstanceUid };
}

/** Writes a small derived file under the data directory's derived/, as rendering would. */
function derive(gw: RunningGateway, name: string, kind: DerivedFile['kind'] = 'image', content = `jpeg bytes of ${name}`): DerivedFile {
  const rel = `derived/test/${name}`;
  mkdirSync(path.join(gw.config.dataDir, 'derived', 'test'), { recursive: true });
  const bytes = Buffer.from(content);
  writeFileSync(path.join(gw.config.dataDir, rel), bytes);
  const mediaType = kind === 'video' ? 'video/mp4' : kind === 'document' ? 'application/pdf' : 'image/jpeg';
  return { kind, path: rel, mediaType, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), width: 160, height: 128, frames: null, fps: null };
}

function fileRendered(gw: RunningGateway, instance: { instanceId: number; sopInstanceUid: string }, derived: DerivedFile[]): FilingOutcome {
  return gw.gateway.db.transaction((tx) => gw.gateway.records.fileRendered(tx, { ...instance, derived }));
}

/** A worklist order: the way the PVS tells the gateway of a patient. */
async function order(gw: RunningGateway, patient: { id: string; name: string; birthDate?: string }): Promise<void> {
  const res = await gw.api('/api/v1/worklist-items', {
    method: 'POST',
    body: JSON.stringify({
      PatientID: patient.id,
      PatientName: patient.name,
      PatientBirthDate: patient.birthDate ?? '19700301',
      Modality: 'CT',
      ScheduledStationAETitle: 'CT_1',
      ScheduledProcedureStepStartDate: '20260315',
      ScheduledProcedureStepID: 'S1',
      AccessionNumber: `ORD-${patient.id}`,
    }),
  });
  assert.equal(res.status, 201, await res.text());
}

async function json<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as T;
}

const feed = async (gw: RunningGateway, since = 0, limit = 100) => json<{ items: Entry[]; next: number; more: boolean }>(await gw.api(`/api/v1/records?since=${since}&limit=${limit}`));
const inbox = async (gw: RunningGateway) => json<{ items: Entry[]; total: number }>(await gw.api('/api/v1/records/unassigned'));
const assign = (gw: RunningGateway, id: number, body: Record<string, unknown>) => gw.api(`/api/v1/records/${id}/assign`, { method: 'POST', body: JSON.stringify(body) });

describe('patient records', () => {
  test('images of a study are filed under the PVS patient by the number in the Patient ID: one entry, one attachment per file', async () => {
    const gw = await start({ records: { assignment: { pattern: '^PVS-([0-9]+)$' } } });
    await order(gw, { id: '4711', name: 'Müller^Jürgen' });
    const first = await store(gw, { patientId: 'PVS-4711', extra: ['(0008,0022) DA [20260314]'] });
    const a = derive(gw, 'a.jpg');
    const b = derive(gw, 'b.jpg');
    const outcome = fileRendered(gw, first, [a, b]);
    assert.equal(outcome.kind, 'filed');
    const second = await store(gw, { patientId: 'PVS-4711', studyInstanceUid: first.studyInstanceUid, seriesDescription: 'Serie zwei' });
    const c = derive(gw, 'c.jpg');
    fileRendered(gw, second, [c]);
    // The same files again (a retried render) change nothing.
    fileRendered(gw, second, [c]);

    const page = await feed(gw);
    assert.equal(page.items.length, 1);
    const [entry] = page.items as [Entry];
    assert.deepEqual(entry.patient, { patientId: '4711', issuer: '' });
    assert.equal(entry.type, 'BILD');
    assert.equal(entry.title, 'Bild: Thorax nativ');
    assert.equal(entry.date, '2026-03-14', 'the acquisition date of the first instance');
    assert.equal(entry.source, 'dicom');
    assert.equal(entry.studyInstanceUid, first.studyInstanceUid);
    assert.equal(entry.text, 'Serie eins\nSerie zwei');
    assert.deepEqual(
      entry.attachments.map((x) => [x.n, x.sopInstanceUid, x.sha256, x.bytes, x.mediaType]),
      [
        [1, first.sopInstanceUid, a.sha256, a.bytes, 'image/jpeg'],
        [2, first.sopInstanceUid, b.sha256, b.bytes, 'image/jpeg'],
        [3, second.sopInstanceUid, c.sha256, c.bytes, 'image/jpeg'],
      ],
    );
    assert.equal(page.next, entry.seq);

    const download = await gw.api(entry.attachments[2]!.url);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'image/jpeg');
    assert.equal(createHash('sha256').update(Buffer.from(await download.arrayBuffer())).digest('hex'), c.sha256);
    assert.equal((await gw.api(`/api/v1/records/${entry.id}/attachments/4`)).status, 404);
    assert.equal((await gw.api('/api/v1/records/999999')).status, 404);
    assert.equal((await inbox(gw)).total, 0);

    // A file rendered again with other content replaces its attachment, and the entry comes again in the feed.
    const redone = derive(gw, 'c.jpg', 'image', 'rendered again');
    fileRendered(gw, second, [redone]);
    const again = await feed(gw, page.next);
    assert.deepEqual(again.items.map((e) => [e.id, e.attachments.length, e.attachments[2]?.sha256]), [[entry.id, 3, redone.sha256]]);

    // A derived file outside derived/ is a fault of the caller: refused, and its transaction leaves nothing.
    const third = await store(gw, { patientId: 'PVS-4711' });
    assert.throws(() => fileRendered(gw, third, [{ ...derive(gw, 'd.jpg'), path: 'derived/../archive/x.jpg' }]), /under derived\//);
    assert.equal((await feed(gw)).items.length, 1);
    const patients = await json<{ items: { patientId: string; registered: boolean }[] }>(await gw.api('/api/v1/patients'));
    assert.deepEqual(patients.items.map((p) => [p.patientId, p.registered]).sort(), [['4711', true], ['PVS-4711', false]]);
  });

  test('no number, an unknown number, and several numbers wait in the inbox with the reason; assignment files them', async () => {
    const gw = await start();
    await order(gw, { id: '4711', name: 'Müller^Jürgen' });
    const none = await store(gw, { patientId: 'NOBODY' });
    const unknown = await store(gw, { patientId: '999' });
    assert.equal(fileRendered(gw, none, [derive(gw, 'n.jpg')]).kind, 'unassigned');
    const outcome = fileRendered(gw, unknown, [derive(gw, 'u.jpg'), derive(gw, 'u.pdf', 'document')]);
    assert.deepEqual(outcome.kind === 'unassigned' ? outcome.reason : outcome, 'unknown-patient');

    const waiting = await inbox(gw);
    assert.deepEqual(
      waiting.items.map((e) => [e.studyInstanceUid, e.type, e.unassignedReason, e.patient]),
      [
        [none.studyInstanceUid, 'BILD', 'no-match', null],
        [unknown.studyInstanceUid, 'BILD', 'unknown-patient', null],
        [unknown.studyInstanceUid, 'DOK', 'unknown-patient', null],
      ],
    );
    assert.equal((await feed(gw)).items.length, 0, 'the feed holds assigned entries only');

    const [noMatch] = waiting.items as [Entry];
    const refused = await json<{ errors: { path: string; hint?: string }[] }>(await assign(gw, noMatch.id, { patientId: '555' }), 404);
    assert.equal(refused.errors[0]?.path, 'patientId');
    const invalid = await json<{ errors: { path: string }[] }>(await assign(gw, noMatch.id, { patientId: '', extra: 1 }), 400);
    assert.deepEqual(invalid.errors.map((e) => e.path).sort(), ['extra', 'patientId']);

    const assigned = await json<Entry>(await assign(gw, noMatch.id, { patientId: '4711' }));
    assert.deepEqual(assigned.patient, { patientId: '4711', issuer: '' });
    assert.equal(assigned.unassignedReason, null);
    assert.equal((await inbox(gw)).total, 2);
    assert.deepEqual((await feed(gw)).items.map((e) => e.id), [noMatch.id]);

    // Re-assignment to a patient the registry does not have yet, on request; the entry moves to the feed's end.
    const before = (await feed(gw)).next;
    const moved = await json<Entry>(await assign(gw, noMatch.id, { patientId: '555', create: true }));
    assert.deepEqual(moved.patient, { patientId: '555', issuer: '' });
    const after = await feed(gw, before);
    assert.deepEqual(after.items.map((e) => [e.id, e.patient?.patientId]), [[noMatch.id, '555']]);
    assert.equal((await json<{ total: number }>(await gw.api('/api/v1/patients?patientId=555'))).total, 1);

    // Another image of an assigned study follows its entry, wherever the entry went.
    const more = await store(gw, { patientId: 'NOBODY', studyInstanceUid: none.studyInstanceUid });
    const followed = fileRendered(gw, more, [derive(gw, 'n2.jpg')]);
    assert.deepEqual(followed, { kind: 'filed', entryIds: [noMatch.id], patientId: '555' });

    // The order for 999 comes late: the next image of the study takes its entry out of the inbox.
    await order(gw, { id: '999', name: 'Spät^Order' });
    const late = await store(gw, { patientId: '999', studyInstanceUid: unknown.studyInstanceUid });
    const retried = fileRendered(gw, late, [derive(gw, 'u2.jpg')]);
    assert.equal(retried.kind === 'filed' ? retried.patientId : retried.kind, '999');
    const left = await inbox(gw);
    assert.deepEqual(left.items.map((e) => [e.type, e.unassignedReason]), [['DOK', 'unknown-patient']], 'the document entry waits for its own next file or an admin');
    const filed = (await feed(gw)).items.find((e) => e.studyInstanceUid === unknown.studyInstanceUid);
    assert.deepEqual([filed?.patient?.patientId, filed?.attachments.length], ['999', 2]);
    assert.ok(gw.logs.messages().includes('record entry waits in the unassigned inbox'));
    const logged = gw.logs.raw.join('\n');
    for (const secret of ['Müller', 'Jürgen', 'Spät', 'NOBODY']) assert.ok(!logged.includes(secret), `${secret} is not in the log`);
  });

  test('createUnknown files a number the PVS has not named and registers the patient; several numbers are ambiguous', async () => {
    const gw = await start({ records: { assignment: { createUnknown: true, attribute: 'OtherPatientIDs' } } });
    const created = await store(gw, { patientId: 'LOCAL-1', extra: ['(0010,1000) LO [KV-00777]'] });
    const outcome = fileRendered(gw, created, [derive(gw, 'c.jpg')]);
    assert.equal(outcome.kind === 'filed' ? outcome.patientId : outcome.kind, '00777');
    const patients = await json<{ items: { patientId: string; name: { family: string } }[] }>(await gw.api('/api/v1/patients?patientId=00777'));
    assert.equal(patients.items[0]?.name.family, 'Müller', 'created with the demographics the modality sent');

    const oneKnown = await store(gw, { patientId: 'LOCAL-4', extra: ['(0010,1000) LO [INS-123456\\KV-00777]'] });
    const known = fileRendered(gw, oneKnown, [derive(gw, 'k.jpg')]);
    assert.equal(known.kind === 'filed' ? known.patientId : known.kind, '00777', 'of two numbers, the one the PVS knows');

    const several = await store(gw, { patientId: 'LOCAL-2', extra: ['(0010,1000) LO [KV-1\\KV-2]'] });
    const ambiguous = fileRendered(gw, several, [derive(gw, 's.jpg')]);
    assert.equal(ambiguous.kind === 'unassigned' ? ambiguous.reason : ambiguous.kind, 'several-patients');

    const inSequence = await store(gw, {
      patientId: 'LOCAL-3',
      extra: ['(0010,1002) SQ (Sequence with explicit length #=1)', '  (fffe,e000) na (Item with explicit length #=1)', '    (0010,0020) LO [KV-888]', '  (fffe,e00d) na (ItemDelimitationItem for re-encoding)', '(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)'],
    });
    const fromSequence = fileRendered(gw, inSequence, [derive(gw, 'q.jpg')]);
    assert.equal(fromSequence.kind === 'filed' ? fromSequence.patientId : fromSequence.kind, '888');
  });

  test('a hostile pattern on a hostile Patient ID cannot hang the gateway', async () => {
    // (a+)+$ against 60 a's and a b takes a back-tracking engine about 2^60 steps.
    const gw = await start({ records: { assignment: { pattern: '(a+)+$' } } });
    const instance = await store(gw, { patientId: `${'a'.repeat(60)}b` });
    const outcome = fileRendered(gw, instance, [derive(gw, 'h.jpg')]);
    assert.equal(outcome.kind === 'unassigned' ? outcome.reason : outcome.kind, 'no-match');
    assert.equal((await gw.api('/healthz')).status, 200);
  });

  test('the accession number can carry the patient number', async () => {
    const gw = await start({ records: { assignment: { attribute: 'AccessionNumber', pattern: '^P([0-9]+)-' } } });
    await order(gw, { id: '31', name: 'Schmidt^Anna' });
    const instance = await store(gw, { patientId: 'ANY', accessionNumber: 'P31-2026' });
    const outcome = fileRendered(gw, instance, [derive(gw, 'acc.jpg')]);
    assert.equal(outcome.kind === 'filed' ? outcome.patientId : outcome.kind, '31');
  });

  test('VNYMD: first name, surname and birth date find the registry patient whatever the spelling; two alike are ambiguous', async () => {
    const gw = await start({ records: { assignment: { mode: 'vnymd' } } });
    await order(gw, { id: 'P-1', name: 'Müller^Jürgen', birthDate: '19700301' });
    await order(gw, { id: 'P-2', name: 'Müller^Jürgen', birthDate: '19800301' });
    const one = await store(gw, { patientId: 'JUERGEN_MUELLER_19700301' });
    const outcome = fileRendered(gw, one, [derive(gw, 'v1.jpg')]);
    assert.equal(outcome.kind === 'filed' ? outcome.patientId : outcome.kind, 'P-1');
    const nobody = await store(gw, { patientId: 'Jürgen_Müller_19900301' });
    const unknown = fileRendered(gw, nobody, [derive(gw, 'v2.jpg')]);
    assert.equal(unknown.kind === 'unassigned' ? unknown.reason : unknown.kind, 'unknown-patient');
    await order(gw, { id: 'P-3', name: 'Mueller^Juergen', birthDate: '19700301' });
    const twice = await store(gw, { patientId: 'jurgen_muller_19700301' });
    const several = fileRendered(gw, twice, [derive(gw, 'v3.jpg')]);
    assert.equal(several.kind === 'unassigned' ? several.reason : several.kind, 'several-patients');
  });

  test('the feed pages by cursor in a stable order, each entry once, and names bad cursors', async () => {
    const gw = await start();
    await order(gw, { id: '100', name: 'Feed^Test' });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      const instance = await store(gw, { patientId: '100' });
      const outcome = fileRendered(gw, instance, [derive(gw, `f${i}.jpg`)]);
      assert.equal(outcome.kind, 'filed');
      if (outcome.kind === 'filed') ids.push(...outcome.entryIds);
    }
    const seen: number[] = [];
    let since = 0;
    for (let pages = 0; pages < 10; pages++) {
      const page = await feed(gw, since, 3);
      seen.push(...page.items.map((e) => e.id));
      since = page.next;
      if (!page.more) break;
    }
    assert.deepEqual(seen, ids);
    const end = await feed(gw, since, 3);
    assert.deepEqual(end, { items: [], next: since, more: false });
    const bad = await json<{ errors: { path: string }[] }>(await gw.api('/api/v1/records?since=-1&limit=abc&x=1'), 400);
    assert.deepEqual(bad.errors.map((e) => e.path).sort(), ['limit', 'since', 'x']);
  });

  test('the export folder gets one file per attachment, named by the pattern, whole, and taken names are not overwritten', async () => {
    // The share is not mounted yet: the gateway waits for it rather than creating the folder.
    const folder = path.join(tempDir('pvs-share-'), 'import');
    const gw = await start({ records: { export: { folder, retrySeconds: 0.2, maxRetrySeconds: 0.5 } } });
    await order(gw, { id: '4711', name: 'Müller^Jürgen' });
    const first = await store(gw, { patientId: '4711' });
    const a = derive(gw, 'e1.jpg', 'image', 'first image');
    const v = derive(gw, 'e1.mp4', 'video', 'a video');
    fileRendered(gw, first, [a, v]);
    const second = await store(gw, { patientId: '4711' });
    fileRendered(gw, second, [derive(gw, 'e2.jpg', 'image', 'other study, same day')]);
    type Job = { state: string; attempts: number; lastError: string | null };
    const waiting = await waitFor(async () => {
      const jobs = await json<{ items: Job[] }>(await gw.api('/api/v1/jobs?type=records-export'));
      return jobs.items.find((j) => j.attempts >= 1 && j.lastError !== null);
    });
    assert.match(waiting.lastError ?? '', /export folder does not exist/);
    assert.equal(waiting.state, 'queued');
    mkdirSync(folder);
    const expected = ['4711_20260315_BILD_1 (2).jpg', '4711_20260315_BILD_1.jpg', '4711_20260315_BILD_2.mp4'];
    const names = await waitFor(() => {
      const files = readdirSync(folder).filter((f) => !f.startsWith('.')).sort();
      return files.length === expected.length ? files : undefined;
    });
    assert.deepEqual(names, expected);
    const contents = new Set(names.map((n) => readFileSync(path.join(folder, n), 'utf8')));
    assert.deepEqual(contents, new Set(['first image', 'a video', 'other study, same day']));
    assert.deepEqual(readdirSync(path.join(folder, '.dicom-gateway-tmp')), [], 'no temporary file is left');

    // An entry waiting in the inbox is exported once it is assigned.
    const stray = await store(gw, { patientId: 'NOBODY' });
    fileRendered(gw, stray, [derive(gw, 'e3.jpg', 'image', 'assigned later')]);
    const [inInbox] = (await inbox(gw)).items as [Entry];
    await json<Entry>(await assign(gw, inInbox.id, { patientId: '4711' }));
    await waitFor(() => readdirSync(folder).includes('4711_20260315_BILD_1 (3).jpg'));
    assert.equal(readFileSync(path.join(folder, '4711_20260315_BILD_1 (3).jpg'), 'utf8'), 'assigned later');
  });

  test('the webhook receives a signed POST per new, changed and assigned entry', async () => {
    const secret = 'webhook-secret-0123456789';
    const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const gw = await start({ records: { webhook: { url: `http://127.0.0.1:${port}/hook`, secret } } });
    await order(gw, { id: '4711', name: 'Müller^Jürgen' });
    const first = await store(gw, { patientId: '4711' });
    fileRendered(gw, first, [derive(gw, 'w1.jpg')]);
    const second = await store(gw, { patientId: '4711', studyInstanceUid: first.studyInstanceUid });
    fileRendered(gw, second, [derive(gw, 'w2.jpg')]);
    const stray = await store(gw, { patientId: 'NOBODY' });
    fileRendered(gw, stray, [derive(gw, 'w3.jpg')]);
    const [waiting] = (await inbox(gw)).items as [Entry];
    await json<Entry>(await assign(gw, waiting.id, { patientId: '4711' }));
    // A cine study of many files: too many attachments for the body, which then says so.
    const many = await store(gw, { patientId: '4711' });
    fileRendered(gw, many, Array.from({ length: 80 }, (_, i) => derive(gw, `m${i}.jpg`)));

    await waitFor(async () => {
      const jobs = await json<{ items: { state: string }[] }>(await gw.api('/api/v1/jobs?type=records-webhook'));
      return jobs.items.length > 0 && jobs.items.every((j) => j.state === 'completed');
    });
    const events = received.map((r) => {
      const timestamp = String(r.headers['x-gateway-timestamp']);
      // The receiver's own check: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret.
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${r.body}`).digest('hex')}`;
      assert.equal(r.headers['x-gateway-signature'], expected);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.match(String(r.headers['x-gateway-delivery']), /^[0-9a-f-]{36}$/);
      const body = JSON.parse(r.body) as { event: string; attachmentsIncluded: boolean; entry: Entry };
      assert.equal(r.headers['x-gateway-event'], body.event);
      return [body.event, body.entry.patient?.patientId, body.attachmentsIncluded, body.entry.attachments.length];
    });
    assert.deepEqual(
      events.sort(),
      [
        ['record.assigned', '4711', true, 1],
        ['record.created', '4711', false, 0],
        ['record.created', '4711', true, 1],
        ['record.updated', '4711', true, 2],
      ].sort(),
    );
    assert.equal(received.length, 4, 'one request per event; nothing for the entry while it waited in the inbox');
  });

  test('a webhook receiver that is down gets the request later, retried by the job queue with backoff', async () => {
    const secret = 'webhook-secret-0123456789';
    const port = await freePort();
    const gw = await start({ records: { webhook: { url: `http://127.0.0.1:${port}/hook`, secret, retrySeconds: 0.2, maxRetrySeconds: 0.5 } } });
    await order(gw, { id: '4711', name: 'Müller^Jürgen' });
    const instance = await store(gw, { patientId: '4711' });
    fileRendered(gw, instance, [derive(gw, 'r.jpg')]);
    type Job = { id: number; state: string; attempts: number; lastError: string | null };
    const failedOnce = await waitFor(async () => {
      const jobs = await json<{ items: Job[] }>(await gw.api('/api/v1/jobs?type=records-webhook'));
      return jobs.items.find((j) => j.attempts >= 1 && j.lastError !== null);
    });
    assert.match(failedOnce.lastError ?? '', /could not be reached/);
    assert.equal(failedOnce.state, 'queued', 'waiting for its next attempt');

    const received: string[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const timestamp = String(req.headers['x-gateway-timestamp']);
        const body = Buffer.concat(chunks).toString('utf8');
        const valid = req.headers['x-gateway-signature'] === `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
        if (valid) received.push(body);
        res.writeHead(valid ? 200 : 401).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    after(() => server.close());
    await waitFor(() => received.length === 1, { timeoutMs: 30_000 });
    const job = await waitFor(async () => {
      const j = await json<Job>(await gw.api(`/api/v1/jobs/${failedOnce.id}`));
      return j.state === 'completed' ? j : undefined;
    });
    assert.ok(job.attempts >= 2);
    assert.equal((JSON.parse(received[0] ?? '{}') as { event: string }).event, 'record.created');
  });

  test('end to end: rendering files the JPEG of a received image in the record of the patient the PVS named', async () => {
    const gw = await startGateway();
    await order(gw, { id: '321', name: 'Echt^Bild' });
    const instance = await store(gw, { patientId: '321' });
    const entry = await waitFor(async () => (await feed(gw)).items.find((e) => e.attachments.some((a) => a.sopInstanceUid === instance.sopInstanceUid)));
    assert.equal(entry.patient?.patientId, '321');
    assert.equal(entry.type, 'BILD');
    const [attachment] = entry.attachments;
    assert.equal(attachment?.mediaType, 'image/jpeg');
    const res = await gw.api(String(attachment?.url));
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), attachment?.sha256);
  });
});
