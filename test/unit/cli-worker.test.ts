import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/temp.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

describe('dicom-gateway worker', () => {
  test('refuses to run with the embedded queue (its workers live in the gateway)', () => {
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    writeFileSync(file, `dataDir: ${JSON.stringify(path.join(dir, 'data'))}\nqueue: { driver: sqlite }\n`);
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', main, 'worker', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /needs queue.driver: redis/);
  });

  test('is listed in the help', () => {
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', main, 'help'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0);
    assert.match(run.stdout, /worker\s+run job workers only/);
  });
});
