// kill -9 of a gateway process during an import, and the restart: every instance answered Success is
// stored and indexed, and no temp file stays.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../support/ports.ts';
import path from 'node:path';
import { test } from 'node:test';
import { exitOf, spawnGateway, waitForLog } from '../support/cli.ts';
import { dcmtkEnv } from '../support/dcmtk.ts';
import { makeInstance } from '../../fixtures/instances.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

const token = 'crash-token-0123456789abcdef';


test('kill -9 during an import: after the restart every instance answered Success is stored and indexed, no temp file stays', async () => {
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  const env = {
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_DICOM_PORT: String(await freePort()),
    GATEWAY_HTTP_PORT: String(await freePort()),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_API_TOKEN: token,
    GATEWAY_CONFIG: path.join(dir, 'none.yaml'),
  };
  writeFileSync(env.GATEWAY_CONFIG, 'logging:\n  level: info\n');

  // 300 instances with distinct SOP Instance UIDs, patched into one template (same UID length).
  const files = path.join(dir, 'files');
  mkdirSync(files);
  const template = readFileSync(makeInstance(dir, 'template', { sopInstanceUid: '1.2.826.0.1.3680043.2.1125.55.1000000' }));
  const from = Buffer.from('1.2.826.0.1.3680043.2.1125.55.1000000');
  const uids: string[] = [];
  const paths: string[] = [];
  for (let i = 0; i < 300; i++) {
    const uid = `1.2.826.0.1.3680043.2.1125.55.${1_000_001 + i}`;
    const bytes = Buffer.from(template);
    for (let at = bytes.indexOf(from); at !== -1; at = bytes.indexOf(from, at + 1)) Buffer.from(uid).copy(bytes, at);
    const file = path.join(files, `${i}.dcm`);
    writeFileSync(file, bytes);
    uids.push(uid);
    paths.push(file);
  }

  let gateway: ChildProcess = spawnGateway(env);
  await waitForLog(gateway, 'gateway started');
  const sender = spawn('storescu', ['-v', '-aec', 'DICOM_GATEWAY', '127.0.0.1', env.GATEWAY_DICOM_PORT, ...paths], { env: dcmtkEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let successes = 0;
  const count = (chunk: Buffer): void => {
    successes += chunk.toString().split('Received Store Response (Success)').length - 1;
  };
  sender.stdout.on('data', count);
  sender.stderr.on('data', count);
  await waitFor(() => successes >= 40, { what: '40 instances stored', timeoutMs: 20_000 });
  gateway.kill('SIGKILL');
  await exitOf(gateway);
  await exitOf(sender);
  const answered = successes;
  assert.ok(answered < 300, 'the import was interrupted');

  gateway = spawnGateway(env);
  try {
    await waitForLog(gateway, 'gateway started');
    assert.deepEqual(readdirSync(path.join(dataDir, 'incoming')), [], 'no temp file after the restart');
    const api = (p: string) => fetch(`http://127.0.0.1:${env.GATEWAY_HTTP_PORT}${p}`, { headers: { authorization: `Bearer ${token}` } });
    for (const [i, uid] of uids.entries()) {
      const res = await api(`/api/v1/instances/${uid}`);
      if (i < answered) assert.equal(res.status, 200, `instance ${i} was answered Success`);
      if (res.status !== 200) continue;
      // Whatever is indexed is there, whole.
      const row = (await res.json()) as { path: string; sha256: string };
      const file = path.join(dataDir, 'archive', row.path);
      assert.ok(existsSync(file));
      assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), row.sha256);
    }
  } finally {
    gateway.kill('SIGTERM');
    await exitOf(gateway);
  }
});
