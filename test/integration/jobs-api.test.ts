import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ManualClock } from '../../src/clock.ts';
import { PermanentJobError, type JobRecord } from '../../src/jobs/index.ts';
import { startGateway } from '../support/gateway.ts';
import { freePort, startRedis } from '../support/redis.ts';
import { WorkerProcess } from '../../src/worker.ts';
import { LogCapture } from '../support/log-capture.ts';
import { waitFor } from '../support/wait.ts';

const payload = z.object({ instanceId: z.number().int() }).strict();

describe('/api/v1/jobs', () => {
  test('lists failed jobs by state and type, retries one, and manages schedules', async () => {
    const clock = new ManualClock('2026-01-05T08:00:00Z');
    let healthy = false;
    const gw = await startGateway(
      {},
      {
        clock,
        jobs: {
          definitions: [
            {
              type: 'render',
              payload,
              handler: async () => {
                if (!healthy) throw new PermanentJobError('cannot decode pixel data');
                return { jpeg: 'derived/1.jpg' };
              },
            },
            { type: 'test.nightly', payload: z.object({}).strict(), handler: async () => ({ removed: 0 }) },
          ],
          schedules: [{ name: 'test-nightly', type: 'test.nightly', cron: '30 2 * * *', payload: {} }],
        },
      },
    );
    const { id } = await gw.gateway.jobs.enqueue({ type: 'render', payload: { instanceId: 1 }, correlationId: 'assoc-42' });
    await waitFor(() => gw.gateway.jobs.get(id)?.state === 'failed', { what: 'render failed' });

    let res = await gw.api('/api/v1/jobs?state=failed&type=render');
    assert.equal(res.status, 200);
    const page = (await res.json()) as { items: JobRecord[]; next: number | null };
    assert.deepEqual(page.items.map((j) => [j.id, j.state, j.lastError, j.correlationId]), [[id, 'failed', 'PermanentJobError: cannot decode pixel data', 'assoc-42']]);
    assert.equal(page.next, null);
    assert.equal(((await (await gw.api('/api/v1/jobs?state=failed&type=other')).json()) as { items: unknown[] }).items.length, 0);

    res = await gw.api('/api/v1/jobs?state=bogus');
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);

    res = await gw.api(`/api/v1/jobs/${id}`);
    assert.equal(((await res.json()) as JobRecord).state, 'failed');
    assert.equal((await gw.api('/api/v1/jobs/9999')).status, 404);

    healthy = true;
    res = await gw.api(`/api/v1/jobs/${id}/retry`, { method: 'POST' });
    assert.equal(res.status, 202);
    await waitFor(() => gw.gateway.jobs.get(id)?.state === 'completed', { what: 'retried render' });
    assert.deepEqual(((await (await gw.api(`/api/v1/jobs/${id}`)).json()) as JobRecord).result, { jpeg: 'derived/1.jpg' });
    assert.equal((await gw.api(`/api/v1/jobs/${id}/retry`, { method: 'POST' })).status, 409);

    res = await gw.api('/api/v1/jobs/schedules');
    const schedules = ((await res.json()) as { items: { name: string; nextRunAt: string; timezone: string }[] }).items;
    assert.deepEqual(
      schedules.filter((s) => s.name === 'test-nightly').map((s) => [s.name, s.nextRunAt, s.timezone]),
      [['test-nightly', '2026-01-06T01:30:00.000Z', 'Europe/Berlin']],
    );

    res = await gw.api('/api/v1/jobs/schedules/test-nightly/run', { method: 'POST' });
    assert.equal(res.status, 202);
    const run = (await res.json()) as { id: number };
    await waitFor(() => gw.gateway.jobs.get(run.id)?.state === 'completed', { what: 'cleanup run now' });

    res = await gw.api('/api/v1/jobs/schedules/test-nightly', { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { paused: boolean }).paused, true);
    clock.set('2026-01-06T02:00:00Z');
    assert.equal(gw.gateway.jobs.list({ type: 'test.nightly' }).items.length, 1);
    assert.equal((await gw.api('/api/v1/jobs/schedules/nope/run', { method: 'POST' })).status, 404);

    const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { components: Record<string, { ok: boolean; details: Record<string, unknown> }> };
    assert.equal(health.components['jobs']?.ok, true);
    assert.equal(health.components['jobs']?.details['driver'], 'sqlite');
    await gw.stop();
  });

  test('redis driver: the gateway records what a separate worker process did', async () => {
    const redis = await startRedis();
    const recorded: unknown[] = [];
    const render = {
      type: 'render',
      payload,
      handler: async (ctx: { payload: { instanceId: number }; correlationId: string }) => ({ jpeg: `derived/${ctx.payload.instanceId}.jpg`, pid: process.pid, correlationId: ctx.correlationId }),
      onCompleted: (_tx: unknown, _job: unknown, result: unknown) => void recorded.push(result),
    };
    const queue = { driver: 'redis', redisUrl: redis.url, prefix: 'api-redis', runWorkers: false } as const;
    const gw = await startGateway({ dicom: { port: await freePort() }, http: { port: await freePort() }, queue }, { jobs: { definitions: [render] } });
    const worker = new WorkerProcess({ config: gw.config, stdout: new LogCapture(), jobs: { definitions: [render] } });
    await worker.start();
    try {
      const { id } = await gw.gateway.jobs.enqueue({ type: 'render', payload: { instanceId: 7 }, correlationId: 'assoc-7' });
      await waitFor(() => gw.gateway.jobs.get(id)?.state === 'completed', { what: 'render through the worker' });
      const res = await gw.api(`/api/v1/jobs/${id}`);
      const job = (await res.json()) as JobRecord;
      assert.deepEqual(job.result, { jpeg: 'derived/7.jpg', pid: process.pid, correlationId: 'assoc-7' });
      assert.equal(recorded.length, 1);
      const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { components: Record<string, { details: Record<string, unknown> }> };
      assert.equal(health.components['jobs']?.details['driver'], 'redis');
    } finally {
      await worker.stop();
      await gw.stop();
    }
  });
});
