import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Database } from '../../src/db/index.ts';
import { runTool, startTool } from '../support/dcmtk.ts';
import { fakeWorklist } from '../support/fake-services.ts';
import { startGateway } from '../support/gateway.ts';

function exited(child: ReturnType<typeof startTool>): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

function storedOutcomes(dataDir: string): { outcome: string; reason: string | null; services: string }[] {
  const db = Database.open({ file: path.join(dataDir, 'gateway.db') });
  try {
    return db.sqlite.prepare('SELECT outcome, reason, services FROM associations ORDER BY started_at').all() as { outcome: string; reason: string | null; services: string }[];
  } finally {
    db.close();
  }
}

describe('graceful shutdown', () => {
  test('stops accepting, lets the open association finish, then records it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let queried!: () => void;
    const queryArrived = new Promise<void>((resolve) => (queried = resolve));
    const gw = await startGateway({}, { dimseServices: [fakeWorklist({ answers: [{ AccessionNumber: 'ACC1' }], gate, onQuery: () => queried() })] });
    const port = String(gw.ports.dicom);
    const find = exited(startTool('findscu', ['-v', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', port]));
    await queryArrived;

    const stopped = gw.stop();
    // The port is closed to new peers while the open association goes on.
    const late = await runTool('echoscu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', port]);
    assert.notEqual(late.code, 0);
    release();
    const result = await find;
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /\[ACC1\]/);
    assert.match(result.output, /Received Final Find Response \(Success\)/);
    await stopped;

    const rows = storedOutcomes(gw.config.dataDir);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.outcome, 'released');
    assert.deepEqual(JSON.parse(rows[0]?.services ?? '{}'), { 'C-FIND': 1 });
  });

  test('an association still open at the deadline is aborted and recorded as such', async () => {
    let queried!: () => void;
    const queryArrived = new Promise<void>((resolve) => (queried = resolve));
    const never = new Promise<void>(() => {});
    const gw = await startGateway({ shutdown: { timeoutSeconds: 0.3 } }, { dimseServices: [fakeWorklist({ answers: [{ AccessionNumber: 'ACC1' }], gate: never, onQuery: () => queried() })] });
    const find = exited(startTool('findscu', ['-v', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]));
    await queryArrived;
    await gw.stop();
    const result = await find;
    assert.match(result.output, /Peer Aborted Association/);
    assert.doesNotMatch(result.output, /\[ACC1\]/);
    const rows = storedOutcomes(gw.config.dataDir);
    assert.equal(rows[0]?.outcome, 'aborted');
    assert.equal(rows[0]?.reason, 'shutdown');
  });
});
