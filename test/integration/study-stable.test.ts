import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { runTool } from '../support/dcmtk.ts';
import { startGateway } from '../support/gateway.ts';
import { makeInstance } from '../../fixtures/instances.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

describe('study completion', () => {
  test('a study is complete after the quiet time, once; another instance opens it again', async () => {
    const clock = new ManualClock('2026-03-15T10:00:00Z');
    const gw = await startGateway({ archive: { studyQuietSeconds: 60 } }, { clock });
    const dir = tempDir();
    const study = '1.2.826.0.1.3680043.10.999.91';
    const send = async (n: number) => {
      const r = await runTool('storescu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), makeInstance(dir, `i${n}.dcm`, { sopInstanceUid: `${study}.${n}`, studyInstanceUid: study })]);
      assert.equal(r.code, 0, r.output);
    };
    const stableJobs = () => gw.gateway.jobs.list({ type: 'study-stable' }).items;
    await send(1);
    clock.advance(30_000);
    await send(2);
    clock.advance(40_000);
    // 70 s after the first instance, 40 s after the second: not complete yet.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stableJobs().length, 0);
    clock.advance(30_000);
    // The check runs every 12 s of clock time: let the clock move on while we wait.
    await waitFor(() => stableJobs().length === 1, { what: 'the study-stable job', onPoll: () => clock.advance(1000) });
    assert.deepEqual(stableJobs()[0]?.payload, { studyInstanceUid: study });
    clock.advance(120_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stableJobs().length, 1, 'reported once');
    await send(3);
    clock.advance(70_000);
    await waitFor(() => stableJobs().length === 2, { what: 'the second study-stable job', onPoll: () => clock.advance(1000) });
  });
});
