import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ArchiveRepository } from '../../src/db/index.ts';
import { WorkerProcess } from '../../src/worker.ts';
import { makeInstance } from '../../fixtures/instances.ts';
import { runTool } from '../support/dcmtk.ts';
import { startGateway } from '../support/gateway.ts';
import { LogCapture } from '../support/log-capture.ts';
import { freePort, startRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

describe('patient records with the Redis driver', () => {
  test('exports and webhook requests run in a worker process that has no database', async () => {
    const redis = await startRedis();
    const secret = 'webhook-secret-0123456789';
    const received: { signature: string; timestamp: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ signature: String(req.headers['x-gateway-signature']), timestamp: String(req.headers['x-gateway-timestamp']), body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(() => server.close());
    const folder = tempDir('pvs-import-');
    const gw = await startGateway({
      dicom: { port: await freePort() },
      http: { port: await freePort() },
      queue: { driver: 'redis', redisUrl: redis.url, prefix: 'records-redis', runWorkers: false },
      records: { export: { folder }, webhook: { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, secret } },
    });
    const worker = new WorkerProcess({ config: gw.config, stdout: new LogCapture(), types: ['records-export', 'records-webhook'] });
    await worker.start();
    try {
      const res = await gw.api('/api/v1/worklist-items', {
        method: 'POST',
        body: JSON.stringify({ PatientID: '4711', PatientName: 'Müller^Jürgen', Modality: 'CT', ScheduledStationAETitle: 'CT_1', ScheduledProcedureStepStartDate: '20260315', ScheduledProcedureStepID: 'S1' }),
      });
      assert.equal(res.status, 201, await res.text());
      const sopInstanceUid = '1.2.826.0.1.3680043.10.999.91.1';
      const file = makeInstance(tempDir(), 'r.dcm', { sopInstanceUid, studyInstanceUid: '1.2.826.0.1.3680043.10.999.91', patientId: '4711' });
      const stored = await runTool('storescu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), file]);
      assert.equal(stored.code, 0, stored.output);
      const instance = new ArchiveRepository(gw.gateway.db).instance(sopInstanceUid);
      assert.ok(instance);
      mkdirSync(path.join(gw.config.dataDir, 'derived', 'r'), { recursive: true });
      const bytes = Buffer.from('rendered through redis');
      writeFileSync(path.join(gw.config.dataDir, 'derived', 'r', 'x.jpg'), bytes);
      const outcome = gw.gateway.db.transaction((tx) =>
        gw.gateway.records.fileRendered(tx, {
          instanceId: instance.id,
          sopInstanceUid,
          derived: [{ kind: 'image', path: 'derived/r/x.jpg', mediaType: 'image/jpeg', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), width: null, height: null, frames: null, fps: null }],
        }),
      );
      assert.equal(outcome.kind, 'filed');
      await waitFor(() => readdirSync(folder).includes('4711_20260315_BILD_1.jpg') && received.length === 1, { what: 'export and webhook through the worker' });
      assert.equal(readFileSync(path.join(folder, '4711_20260315_BILD_1.jpg'), 'utf8'), 'rendered through redis');
      const [request] = received as [(typeof received)[number]];
      assert.equal(request.signature, `sha256=${createHmac('sha256', secret).update(`${request.timestamp}.${request.body}`).digest('hex')}`);
      assert.equal((JSON.parse(request.body) as { entry: { patient: { patientId: string } } }).entry.patient.patientId, '4711');
    } finally {
      await worker.stop();
      await gw.stop();
    }
  });
});
