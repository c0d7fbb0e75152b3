import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import dimse from 'dcmjs-dimse';
import { runTool } from '../support/dcmtk.ts';
import { associateRq, pdu, RawPeer } from '../support/raw-dicom.ts';
import { waitFor } from '../support/wait.ts';
import { sendRequests } from '../support/dimse-client.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { compress, ctImageStorage, datasetBytes, makeInstance } from '../../fixtures/instances.ts';
import { Compression, compressImage, greyPattern, htj2kCopy, makeImage, packGrey } from '../../fixtures/images.ts';
import { makeVideoInstance, VideoSyntax } from '../../fixtures/video.ts';
import { tempDir } from '../support/temp.ts';

const uidBase = '1.2.826.0.1.3680043.2.1125.9';

function storescu(gw: RunningGateway, files: readonly string[], options: readonly string[] = []) {
  return runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', ...options, '127.0.0.1', String(gw.ports.dicom), ...files]);
}

async function instanceRow(gw: RunningGateway, sop: string): Promise<Record<string, unknown>> {
  const res = await gw.api(`/api/v1/instances/${sop}`);
  assert.equal(res.status, 200, `instance ${sop}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A Part 10 file's bytes from its (last) Pixel Data element on. */
function pixelData(file: string): Buffer {
  const bytes = datasetBytes(file);
  const at = bytes.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  assert.ok(at > 0, `no pixel data in ${file}`);
  return bytes.subarray(at);
}

/**
 * The frame data of encapsulated pixel data: the fragments after the Basic Offset Table, joined
 * (a sender may re-split or re-index them; the coded frames stay the same).
 */
function fragments(file: string): Buffer {
  const pixels = pixelData(file);
  const parts: Buffer[] = [];
  // Tag, VR OB, two reserved bytes, undefined length; then items until the sequence delimiter.
  let at = 12;
  for (let item = 0; at + 8 <= pixels.length && pixels.readUInt16LE(at + 2) === 0xe000; item++) {
    const length = pixels.readUInt32LE(at + 4);
    if (item > 0) parts.push(pixels.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  assert.ok(parts.length > 0, `no fragments in ${file}`);
  return Buffer.concat(parts);
}

/** The SOP Instance UID a Part 10 file holds (dcmdump). */
function sopInstanceUidOf(file: string): string {
  const out = execFileSync('dcmdump', ['+P', '0008,0018', file], { encoding: 'latin1' });
  const match = /\[([0-9.]+)\]/.exec(out);
  if (match === null) throw new Error(`no SOP Instance UID in ${file}`);
  return match[1] as string;
}

function storedFile(gw: RunningGateway, row: Record<string, unknown>): string {
  return path.join(gw.config.dataDir, 'archive', String(row['path']));
}

function incomingFiles(gw: RunningGateway): string[] {
  return readdirSync(path.join(gw.config.dataDir, 'incoming'));
}

describe('Storage SCP with DCMTK storescu', () => {
  test('stores the dataset byte for byte behind a valid meta header, private tags included, and indexes it', async () => {
    const gw = await startGateway();
    const dir = tempDir();
    const sop = `${uidBase}.1`;
    const file = makeInstance(dir, 'ct1', { sopInstanceUid: sop });
    const result = await storescu(gw, [file], ['-xe']);
    assert.equal(result.code, 0, result.output + gw.logs.lines?.map?.((l: unknown) => JSON.stringify(l)).join("\n"));

    const row = await instanceRow(gw, sop);
    assert.equal(row['transferSyntaxUid'], '1.2.840.10008.1.2.1');
    assert.equal(row['callingAeTitle'], 'CT_1');
    assert.equal(row['frames'], 1);
    const stored = storedFile(gw, row);
    assert.ok(stored.startsWith(path.join(gw.config.dataDir, 'archive')));
    assert.deepEqual(datasetBytes(stored), datasetBytes(file));
    assert.equal(readFileSync(stored).length, row['size']);
    const check = await runTool('dcmftest', [stored]);
    assert.equal(check.code, 0, check.output);
    const dump = await runTool('dcmdump', ['-M', stored]);
    assert.match(dump.stdout, /\(0002,0010\) UI =LittleEndianExplicit/);
    assert.match(dump.stdout, /\(0002,0016\) AE \[CT_1\]/);
    assert.match(dump.stdout, /\(0029,1010\) LO \[private value kept\]/);
    assert.deepEqual(incomingFiles(gw), []);

    const studies = (await (await gw.api('/api/v1/studies?patientId=PAT-1')).json()) as { items: Record<string, unknown>[]; total: number };
    assert.equal(studies.total, 1);
    const study = studies.items[0] as Record<string, unknown>;
    assert.deepEqual(study['patientName'], { family: 'Müller', given: 'Jürgen', middle: '', prefix: '', suffix: '' });
    assert.equal(study['accessionNumber'], 'ACC123');
    assert.deepEqual(study['modalities'], ['CT']);
    assert.equal((await (await gw.api('/api/v1/studies?patientId=OTHER')).json() as { total: number }).total, 0);
    const series = (await (await gw.api(`/api/v1/studies/${String(study['studyInstanceUid'])}/series`)).json()) as { items: Record<string, unknown>[] };
    assert.equal(series.items.length, 1);
    assert.equal(series.items[0]?.['description'], 'Serie eins');
    assert.equal(series.items[0]?.['instances'], 1);

    const download = await gw.api(`/api/v1/instances/${sop}/file`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'application/dicom');
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), readFileSync(stored));
    assert.equal((await gw.api('/api/v1/instances/1.2.3.404')).status, 404);

    const jobs = (await (await gw.api('/api/v1/jobs?type=instance-received')).json()) as { items: unknown[] };
    assert.equal(jobs.items.length, 1);
  });

  for (const [name, option, ts, kind] of [
    ['implicit VR little endian', '-xi', '1.2.840.10008.1.2', undefined],
    ['explicit VR big endian', '-xb', '1.2.840.10008.1.2.2', 'big-endian'],
    ['deflated explicit VR little endian', '-xd', '1.2.840.10008.1.2.1.99', undefined],
    ['JPEG lossless SV1 (dcmcjpeg)', '-xs', '1.2.840.10008.1.2.4.70', 'jpeg-lossless'],
    ['RLE lossless (dcmcrle)', '-xr', '1.2.840.10008.1.2.5', 'rle'],
  ] as const) {
    test(`accepts ${name} as proposed and stores a file dcmftest accepts`, async () => {
      // storescu -xb proposes big endian with the little endian syntaxes: the configured preference picks it.
      const gw = await startGateway(option === '-xb' ? { dicom: { transferSyntaxPreference: [ts] } } : {});
      const dir = tempDir();
      const sop = `${uidBase}.2.${ts.split('.').join('')}`;
      const plain = makeInstance(dir, 'ts', { sopInstanceUid: sop });
      const file = kind === undefined ? plain : compress(plain, kind);
      const result = await storescu(gw, [file], [option]);
      assert.equal(result.code, 0, result.output);
      const row = await instanceRow(gw, sop);
      assert.equal(row['transferSyntaxUid'], ts);
      const stored = storedFile(gw, row);
      const check = await runTool('dcmftest', [stored]);
      assert.equal(check.code, 0, check.output);
      const dump = await runTool('dcmdump', [stored]);
      assert.match(dump.stdout, /\(0010,0020\) LO \[PAT-1\]/);
      // Sent in the file's own syntax, the dataset is the file's, byte for byte.
      if (kind !== undefined) assert.deepEqual(datasetBytes(stored), datasetBytes(file));
      assert.equal(createHash('sha256').update(readFileSync(stored)).digest('hex'), row['sha256']);
    });
  }

  // Every compressed syntax the SCP accepts, each proposed as exactly as DCMTK's storescu can (the file's
  // own syntax is always proposed too); HTJ2K, which DCMTK 3.6.7 does not know, from a dcmjs-dimse client.
  const grey8 = (dir: string) => makeImage(dir, 'grey8', { photometric: 'MONOCHROME2', rows: 64, columns: 80, bitsAllocated: 8, bitsStored: 8, pixels: packGrey(greyPattern(64, 80, 8, false), 8, 8) }).file;
  const ct12 = (dir: string) => makeInstance(dir, 'ct12.dcm', { sopInstanceUid: `${uidBase}.30.${process.hrtime.bigint()}` });
  const video = (syntax: (typeof VideoSyntax)[keyof typeof VideoSyntax]) => (dir: string) => makeVideoInstance(dir, 'video', syntax, { width: 64, height: 48, frames: 5, fps: 25 }).file;
  for (const [name, option, ts, make] of [
    ['JPEG baseline (process 1)', '-xy', '1.2.840.10008.1.2.4.50', (dir: string) => compressImage(grey8(dir), Compression.JpegBaseline)],
    ['JPEG extended (process 2 & 4)', '-xx', '1.2.840.10008.1.2.4.51', (dir: string) => compressImage(ct12(dir), Compression.JpegExtended)],
    ['JPEG-LS lossless', '-xt', '1.2.840.10008.1.2.4.80', (dir: string) => compressImage(ct12(dir), Compression.JpegLsLossless)],
    ['JPEG-LS near-lossless', '-xu', '1.2.840.10008.1.2.4.81', (dir: string) => compressImage(ct12(dir), Compression.JpegLsNear)],
    ['JPEG 2000 lossless', '-xv', '1.2.840.10008.1.2.4.90', (dir: string) => compressImage(ct12(dir), Compression.Jpeg2000Lossless)],
    ['JPEG 2000', '-xw', '1.2.840.10008.1.2.4.91', (dir: string) => compressImage(ct12(dir), Compression.Jpeg2000)],
    // -R: storescu's long list of classes leaves out video photographic otherwise.
    ['MPEG-2 Main Profile / Main Level', '-xm -R', VideoSyntax.Mpeg2, video(VideoSyntax.Mpeg2)],
    ['MPEG-4 AVC/H.264 High Profile / Level 4.1', '-xn -R', VideoSyntax.H264, video(VideoSyntax.H264)],
    ['HEVC/H.265 Main Profile / Level 5.1', '-x4 -R', VideoSyntax.Hevc, video(VideoSyntax.Hevc)],
  ] as const) {
    test(`accepts ${name} proposed with storescu ${option}, the pixel data stored as sent`, async () => {
      const gw = await startGateway();
      const file = make(tempDir());
      const sop = sopInstanceUidOf(file);
      const result = await storescu(gw, [file], option.split(' '));
      assert.equal(result.code, 0, result.output);
      const row = await instanceRow(gw, sop);
      assert.equal(row['transferSyntaxUid'], ts);
      const stored = storedFile(gw, row);
      assert.equal((await runTool('dcmftest', [stored])).code, 0);
      // storescu re-encodes the rest of the dataset (sequence lengths, group lengths); the encoded
      // pixel data is what the file holds: nothing was transcoded.
      assert.deepEqual(pixelData(stored), pixelData(file));
    });
  }

  // DCMTK 3.6.7 does not know HTJ2K, and storescu cannot propose JPEG lossless process 14 for a file:
  // those come from a dcmjs-dimse client.
  for (const [name, ts, make] of [
    ['HTJ2K lossless', '1.2.840.10008.1.2.4.201', (dir: string) => htj2kCopy(ct12(dir))],
    ['JPEG lossless (process 14)', '1.2.840.10008.1.2.4.57', async (dir: string) => compressImage(ct12(dir), Compression.JpegLossless)],
  ] as const) {
    test(`accepts ${name} from a dcmjs-dimse client, the pixel data stored as sent`, async () => {
      const gw = await startGateway();
      const file = await make(tempDir());
      const dataset = dimse.Dataset.fromFile(file) as InstanceType<typeof dimse.Dataset>;
      assert.equal(dataset.getTransferSyntaxUid(), ts);
      assert.deepEqual(await sendRequests(gw, [new dimse.requests.CStoreRequest(dataset)]), [0x0000]);
      const row = await instanceRow(gw, sopInstanceUidOf(file));
      assert.equal(row['transferSyntaxUid'], ts);
      // dcmjs re-encodes what it sends (its own offset table): the coded frames are the file's.
      assert.deepEqual(fragments(storedFile(gw, row)), fragments(file));
    });
  }

  test('studies without a Patient ID each keep their own patient, named as their device sent it', async () => {
    const gw = await startGateway();
    const dir = tempDir();
    const files = [
      makeInstance(dir, 'anon-a1', { sopInstanceUid: `${uidBase}.21`, studyInstanceUid: `${uidBase}.210`, seriesInstanceUid: `${uidBase}.211`, patientId: '', patientName: 'Notfall^Eins' }),
      makeInstance(dir, 'anon-a2', { sopInstanceUid: `${uidBase}.22`, studyInstanceUid: `${uidBase}.210`, seriesInstanceUid: `${uidBase}.211`, patientId: '', patientName: 'Notfall^Eins' }),
      makeInstance(dir, 'anon-b1', { sopInstanceUid: `${uidBase}.23`, studyInstanceUid: `${uidBase}.220`, seriesInstanceUid: `${uidBase}.221`, patientId: '', patientName: 'Notfall^Zwei' }),
    ];
    const result = await storescu(gw, files, ['-xe']);
    assert.equal(result.code, 0, result.output);
    const studies = (await (await gw.api('/api/v1/studies')).json()) as { items: Record<string, unknown>[] };
    const names = new Map(studies.items.map((s) => [s['studyInstanceUid'], (s['patientName'] as { given: string }).given]));
    assert.equal(names.get(`${uidBase}.210`), 'Eins');
    assert.equal(names.get(`${uidBase}.220`), 'Zwei');
    const patients = (await (await gw.api('/api/v1/patients')).json()) as { items: { patientId: string }[] };
    assert.equal(patients.items.filter((p) => p.patientId === '').length, 2);
  });

  test('a 128 MB instance streams to disk: the gateway never holds the object in memory', async () => {
    const gw = await startGateway();
    const dir = tempDir();
    const sop = `${uidBase}.11`;
    const file = makeInstance(dir, 'big', { sopInstanceUid: sop, rows: 8192, columns: 8192 });
    // Live memory only: garbage collected before each sample (buffers passed on are garbage, not held).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      gc();
      const m = process.memoryUsage();
      peak = Math.max(peak, m.arrayBuffers - before.arrayBuffers + (m.heapUsed - before.heapUsed));
    }, 250);
    try {
      const result = await storescu(gw, [file], ['-xe']);
      assert.equal(result.code, 0, result.output);
    } finally {
      clearInterval(sampler);
    }
    const row = await instanceRow(gw, sop);
    assert.equal(row['size'], readFileSync(storedFile(gw, row)).length);
    assert.ok(row['size'] as number > 128 * 1024 * 1024);
    assert.ok(peak < 48 * 1024 * 1024, `memory grew by ${(peak / 1024 / 1024).toFixed(0)} MB while receiving`);
  });

  test('a second copy of a SOP instance: keep-first keeps the first file and counts the copy; overwrite replaces it', async () => {
    const dir = tempDir();
    const sop = `${uidBase}.3`;
    const first = makeInstance(dir, 'first', { sopInstanceUid: sop, seriesDescription: 'Erste' });
    const second = makeInstance(dir, 'second', { sopInstanceUid: sop, seriesDescription: 'Zweite' });

    const keep = await startGateway();
    assert.equal((await storescu(keep, [first], ['-xe'])).code, 0);
    const again = await storescu(keep, [second], ['-xe']);
    assert.equal(again.code, 0, again.output);
    const kept = await instanceRow(keep, sop);
    assert.equal(kept['duplicates'], 1);
    assert.deepEqual(datasetBytes(storedFile(keep, kept)), datasetBytes(first));
    assert.deepEqual(incomingFiles(keep), []);

    const overwrite = await startGateway({ archive: { duplicates: 'overwrite' } });
    assert.equal((await storescu(overwrite, [first], ['-xe'])).code, 0);
    const replacing = await storescu(overwrite, [second], ['-xe']);
    assert.equal(replacing.code, 0, replacing.output + JSON.stringify(overwrite.logs.lines?.slice?.(-5)));
    const replaced = await instanceRow(overwrite, sop);
    assert.equal(replaced['duplicates'], 1);
    assert.deepEqual(datasetBytes(storedFile(overwrite, replaced)), datasetBytes(second));
  });

  test('archive.sopClasses.deny takes a class off the offer: its contexts are rejected', async () => {
    const gw = await startGateway({ archive: { sopClasses: { deny: [ctImageStorage] } } });
    const dir = tempDir();
    const file = makeInstance(dir, 'denied', { sopInstanceUid: `${uidBase}.12` });
    const result = await storescu(gw, [file], ['-xe']);
    assert.notEqual(result.code, 0);
    assert.match(result.output, /no presentation context|No presentation context|not supported/i);
    const sc = makeInstance(dir, 'sc', { sopInstanceUid: `${uidBase}.13`, sopClassUid: '1.2.840.10008.5.1.4.1.1.7' });
    assert.equal((await storescu(gw, [sc], ['-xe'])).code, 0);
    assert.deepEqual(incomingFiles(gw), []);
  });

  test('below archive.minFreeMb storage associations are rejected (transient) and /healthz says why; echo still works', async () => {
    const gw = await startGateway({ archive: { minFreeMb: 10_000_000 } });
    const dir = tempDir();
    const file = makeInstance(dir, 'full', { sopInstanceUid: `${uidBase}.4` });
    const result = await storescu(gw, [file], ['-xe']);
    assert.notEqual(result.code, 0);
    assert.match(result.output, /Association Rejected/i);
    assert.match(result.output, /Transient/i);
    assert.match(result.output, /local-limit-exceeded|Local limit exceeded/i);
    const echo = await runTool('echoscu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.equal(echo.code, 0, echo.output);
    const health = await fetch(`${gw.baseUrl}/healthz`);
    assert.equal(health.status, 503);
    const report = (await health.json()) as { components: Record<string, { ok: boolean; reason?: string }> };
    assert.equal(report.components['archive']?.ok, false);
    assert.match(report.components['archive']?.reason ?? '', /minFreeMb/);
    assert.deepEqual(incomingFiles(gw), []);
  });
});


function ctElements(sop: string | undefined): Record<string, unknown> {
  return {
    SOPClassUID: ctImageStorage,
    ...(sop === undefined ? {} : { SOPInstanceUID: sop }),
    StudyInstanceUID: `${uidBase}.100`,
    SeriesInstanceUID: `${uidBase}.101`,
    PatientID: 'PAT-2',
    Modality: 'CT',
  };
}

describe('Storage SCP failure statuses', () => {
  test('A900 when the dataset contradicts the command or lacks its UIDs, C000 when it cannot be parsed; nothing stays', async () => {
    const gw = await startGateway();
    const explicit = '1.2.840.10008.1.2.1';

    const mismatch = new dimse.requests.CStoreRequest(new dimse.Dataset(ctElements(`${uidBase}.5`), explicit));
    mismatch.setAffectedSopInstanceUid(`${uidBase}.6`);

    const missing = new dimse.requests.CStoreRequest(new dimse.Dataset(ctElements(undefined), explicit));
    missing.setAffectedSopClassUid(ctImageStorage);
    missing.setAffectedSopInstanceUid(`${uidBase}.7`);

    const garbage = new dimse.Dataset(ctElements(`${uidBase}.8`), explicit);
    // An element claiming far more bytes than follow.
    garbage.getDenaturalizedDataset = () => Buffer.from([0x08, 0x00, 0x18, 0x00, 0x55, 0x49, 0xff, 0x7f, 0x31, 0x2e, 0x32, 0x00]);
    const unreadable = new dimse.requests.CStoreRequest(garbage);

    const good = new dimse.requests.CStoreRequest(new dimse.Dataset(ctElements(`${uidBase}.9`), explicit));
    const statuses = await sendRequests(gw, [mismatch, missing, unreadable, good]);
    assert.deepEqual(statuses, [0xa900, 0xa900, 0xc000, 0x0000]);
    for (const sop of ['5', '6', '7', '8']) assert.equal((await gw.api(`/api/v1/instances/${uidBase}.${sop}`)).status, 404);
    await instanceRow(gw, `${uidBase}.9`);
    assert.deepEqual(incomingFiles(gw), []);
  });

  test('a peer that aborts in the middle of a dataset leaves no temp file and nothing indexed', async () => {
    const gw = await startGateway();
    const peer = await RawPeer.connect(gw.ports.dicom);
    await peer.write(storageAssociateRq());
    const ac = await peer.waitFor(6);
    assert.equal(ac[0], 0x02, 'A-ASSOCIATE-AC');
    const sop = `${uidBase}.10`;
    await peer.write(pdataTf(1, 0x03, storeCommand(sop)));
    // The start of a dataset: a first fragment, never the last.
    await peer.write(pdataTf(1, 0x00, Buffer.alloc(32 * 1024, 0x20)));
    await waitFor(() => incomingFiles(gw).length === 1, { what: 'the temp file' });
    peer.socket.destroy();
    await waitFor(() => incomingFiles(gw).length === 0, { what: 'the temp file to go' });
    assert.equal((await gw.api(`/api/v1/instances/${sop}`)).status, 404);
  });
});

/** A-ASSOCIATE-RQ proposing CT Image Storage (context 1) with explicit VR little endian. */
function storageAssociateRq(): Buffer {
  const rq = associateRq('DICOM_GATEWAY', 'RAW_PEER');
  // Reuse the Verification request and swap the abstract syntax: same structure, other UIDs.
  const item = (type: number, body: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head[0] = type;
    head.writeUInt16BE(body.length, 2);
    return Buffer.concat([head, body]);
  };
  const fixed = rq.subarray(6, 6 + 68);
  const appContext = item(0x10, Buffer.from('1.2.840.10008.3.1.1.1'));
  const pc = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(ctImageStorage)), item(0x40, Buffer.from('1.2.840.10008.1.2.1'))]));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(65536);
  const userInfo = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4'))]));
  return pdu(0x01, Buffer.concat([fixed, appContext, pc, userInfo]));
}

/** One P-DATA-TF with one PDV; control 0x03 = last command fragment, 0x00 = a dataset fragment that is not the last. */
function pdataTf(contextId: number, control: number, value: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(value.length + 2, 0);
  head[4] = contextId;
  head[5] = control;
  return pdu(0x04, Buffer.concat([head, value]));
}

/** A C-STORE-RQ command set, implicit VR little endian. */
function storeCommand(sop: string): Buffer {
  const el = (element: number, value: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(0x0000, 0);
    head.writeUInt16LE(element, 2);
    head.writeUInt32LE(value.length, 4);
    return Buffer.concat([head, value]);
  };
  const ui = (uid: string): Buffer => Buffer.from(uid.length % 2 === 0 ? uid : `${uid}\0`, 'latin1');
  const us = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return b;
  };
  const body = Buffer.concat([el(0x0002, ui(ctImageStorage)), el(0x0100, us(0x0001)), el(0x0110, us(1)), el(0x0700, us(0)), el(0x0800, us(0x0000)), el(0x1000, ui(sop))]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([el(0x0000, length), body]);
}
