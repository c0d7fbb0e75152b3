import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { greyPattern, makeImage, packGrey, testUid, ultrasoundMultiframeStorage } from '../../fixtures/images.ts';
import { makeInstance } from '../../fixtures/instances.ts';
import { ffprobe } from '../../fixtures/video.ts';
import { tinyPdf } from '../../fixtures/pdf.ts';
import { WorkerProcess } from '../../src/worker.ts';
import { dump2dcm, runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { LogCapture } from '../support/log-capture.ts';
import { freePort } from '../support/ports.ts';
import { startRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

interface DerivedListing {
  sopInstanceUid: string;
  renderedAt: string | null;
  skipped: string | null;
  items: { id: number; kind: string; path: string; mediaType: string; bytes: number; sha256: string; width: number | null; height: number | null; frames: number | null; fps: number | null; href: string }[];
}

async function rendered(gw: RunningGateway, sop: string): Promise<DerivedListing> {
  return waitFor(
    async () => {
      const res = await gw.api(`/api/v1/instances/${sop}/derived`);
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as DerivedListing;
      return body.renderedAt === null ? undefined : body;
    },
    { what: `the rendering of ${sop}`, timeoutMs: 60_000, intervalMs: 50 },
  );
}

describe('rendering received instances end to end', () => {
  test('storescu sends; the job renders; the API lists the JPEG, MP4, poster, PDF and the skipped SR, and serves the files', async () => {
    const gw = await startGateway();
    const dir = tempDir('render-e2e-');
    const ctSop = testUid();
    const ct = makeInstance(dir, 'ct', { sopInstanceUid: ctSop });
    const frames = 6;
    const cine = makeImage(dir, 'cine', {
      photometric: 'MONOCHROME2',
      rows: 64,
      columns: 80,
      frames,
      bitsAllocated: 8,
      bitsStored: 8,
      pixels: Buffer.concat(Array.from({ length: frames }, (_, f) => packGrey(greyPattern(64, 80, 8, false, f), 8, 8))),
      extra: ['(0018,1063) DS [100]'],
      sopClassUid: ultrasoundMultiframeStorage,
      modality: 'US',
    });
    const pdfFile = path.join(dir, 'report.pdf');
    writeFileSync(pdfFile, tinyPdf());
    const pdf = path.join(dir, 'pdf.dcm');
    execFileSync('pdf2dcm', ['+pn', 'Test^Pdf', '+pi', 'P-2', '+t', 'Befund', pdfFile, pdf], { stdio: 'pipe' });
    const pdfSop = /\[([0-9.]+)\]/.exec(execFileSync('dcmdump', ['+P', 'SOPInstanceUID', pdf], { encoding: 'utf8' }))?.[1] ?? '';
    const srSop = testUid();
    const sr = dump2dcm(dir, 'sr.dcm', [
      '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.88.11]',
      `(0008,0018) UI [${srSop}]`,
      '(0008,0060) CS [SR]',
      '(0010,0020) LO [P-3]',
      `(0020,000d) UI [${testUid()}]`,
      `(0020,000e) UI [${testUid()}]`,
      '(0040,a040) CS [CONTAINER]',
      '(0040,a050) CS [SEPARATE]',
    ].join('\n'));

    const sent = await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), ct, cine.file, pdf, sr]);
    assert.equal(sent.code, 0, sent.output);

    const image = await rendered(gw, ctSop);
    assert.equal(image.skipped, null);
    assert.equal(image.items.length, 1);
    const jpeg = image.items[0];
    assert.ok(jpeg !== undefined);
    assert.deepEqual([jpeg.kind, jpeg.mediaType, jpeg.width, jpeg.height, jpeg.frames], ['image', 'image/jpeg', 160, 128, 1]);
    assert.match(jpeg.path, /^derived\/[0-9a-f]{16}\/[0-9a-f]{16}\/[0-9.]+\.jpg$/);
    const onDisk = readFileSync(path.join(gw.config.dataDir, jpeg.path));
    assert.equal(onDisk.length, jpeg.bytes);
    assert.equal(createHash('sha256').update(onDisk).digest('hex'), jpeg.sha256);
    const download = await gw.api(jpeg.href);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), onDisk);
    const meta = await sharp(onDisk).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['jpeg', 160, 128, 1]);

    const video = await rendered(gw, cine.sopInstanceUid);
    assert.deepEqual(
      video.items.map((i) => [i.kind, i.mediaType]),
      [
        ['video', 'video/mp4'],
        ['poster', 'image/jpeg'],
      ],
    );
    const probed = ffprobe(path.join(gw.config.dataDir, video.items[0]?.path ?? ''));
    assert.deepEqual([probed.codec, probed.frames, probed.fps, probed.width, probed.height], ['h264', frames, 10, 80, 64]);

    const document = await rendered(gw, pdfSop);
    assert.equal(document.items[0]?.kind, 'document');
    const pdfDownload = await gw.api(document.items[0]?.href ?? '');
    assert.equal(pdfDownload.headers.get('content-type'), 'application/pdf');
    assert.deepEqual(Buffer.from(await pdfDownload.arrayBuffer()), tinyPdf());

    const report = await rendered(gw, srSop);
    assert.deepEqual(report.items, []);
    assert.match(report.skipped ?? '', /no pixel data \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.11\)/);

    assert.equal((await gw.api(`/api/v1/instances/${ctSop}/derived/999999/file`)).status, 404);
    assert.equal((await gw.api(`/api/v1/instances/${ctSop}/derived/abc/file`)).status, 400);
    assert.equal((await gw.api('/api/v1/instances/1.2.3.404/derived')).status, 404);
    const jobs = (await (await gw.api('/api/v1/jobs?type=instance-received&state=completed')).json()) as { items: unknown[] };
    assert.equal(jobs.items.length, 4);
    const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { components: Record<string, { details?: Record<string, unknown> }> };
    assert.match(String(health.components['rendering']?.details?.['ffmpeg']), /^ffmpeg \S+/);
  });

  test('an image that cannot be rendered fails its job with the fields named; the gateway keeps going', async () => {
    const gw = await startGateway();
    const dir = tempDir('render-bad-');
    const bad = makeImage(dir, 'bad', { photometric: 'CMYK', rows: 4, columns: 4, bitsAllocated: 8, bitsStored: 8, samples: 3, pixels: Buffer.alloc(48) });
    const sent = await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), bad.file]);
    assert.equal(sent.code, 0, sent.output);
    const failed = await waitFor(
      async () => {
        const body = (await (await gw.api('/api/v1/jobs?type=instance-received&state=failed')).json()) as { items: { lastError: string; attempts: number }[] };
        return body.items[0];
      },
      { what: 'the failed render job', timeoutMs: 30_000 },
    );
    assert.match(failed.lastError, /PhotometricInterpretation CMYK: not rendered/);
    assert.equal(failed.attempts, 1, 'a permanent failure is not retried');
    const listing = (await (await gw.api(`/api/v1/instances/${bad.sopInstanceUid}/derived`)).json()) as DerivedListing;
    assert.deepEqual([listing.renderedAt, listing.items], [null, []]);
  });

  test('without ffmpeg the gateway starts, says so in the log and /healthz, and still renders single images', async () => {
    const gw = await startGateway({ rendering: { ffmpegPath: '/nonexistent/ffmpeg' } });
    const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { status: string; warnings: string[] };
    assert.equal(health.status, 'ok');
    assert.ok(health.warnings.some((w) => /^rendering: ffmpeg is not available \(\/nonexistent\/ffmpeg not found\)/.test(w)), health.warnings.join('\n'));
    assert.ok(gw.logs.messages().includes('ffmpeg is not available: multi-frame images and videos will not be made into MP4 (install ffmpeg or set rendering.ffmpegPath)'));
    const dir = tempDir('render-noff-');
    const sop = testUid();
    const sent = await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), makeInstance(dir, 'ct', { sopInstanceUid: sop })]);
    assert.equal(sent.code, 0, sent.output);
    assert.equal((await rendered(gw, sop)).items[0]?.kind, 'image');
  });

  test('redis driver: a dicom-gateway worker renders from the shared data directory, the gateway records it', async () => {
    const redis = await startRedis();
    const queue = { driver: 'redis', redisUrl: redis.url, prefix: 'render-redis', runWorkers: false } as const;
    const gw = await startGateway({ dicom: { port: await freePort() }, http: { port: await freePort() }, queue });
    const workerLogs = new LogCapture();
    const worker = new WorkerProcess({ config: gw.config, stdout: workerLogs, types: ['instance-received'] });
    await worker.start();
    try {
      const dir = tempDir('render-redis-');
      const sop = testUid();
      const sent = await runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), makeInstance(dir, 'ct', { sopInstanceUid: sop })]);
      assert.equal(sent.code, 0, sent.output);
      const listing = await rendered(gw, sop);
      assert.equal(listing.items[0]?.kind, 'image');
      assert.ok(workerLogs.messages().includes('instance rendered'), 'the worker rendered it');
      assert.ok(!gw.logs.messages().includes('instance rendered'), 'the gateway did not');
      const onDisk = readFileSync(path.join(gw.config.dataDir, listing.items[0]?.path ?? ''));
      assert.equal(createHash('sha256').update(onDisk).digest('hex'), listing.items[0]?.sha256);
    } finally {
      await worker.stop();
      await gw.stop();
    }
  });
});
