import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { exitOf, repoRoot, runCli, spawnGateway, waitForLog } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

describe('CLI', () => {
  test('version and help', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const v = runCli(['version']);
    assert.equal(v.status, 0);
    assert.equal(v.stdout.trim(), pkg.version);
    const help = runCli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /check-config/);
    const unknown = runCli(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  test('check-config prints the effective config with secrets masked', () => {
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    writeFileSync(file, 'gateway:\n  aeTitle: PRAXIS\nhttp:\n  apiToken: my-very-secret-token-value\n');
    const r = runCli(['check-config', '--config', file], { env: { GATEWAY_DICOM_PORT: '11999' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /aeTitle: PRAXIS/);
    assert.match(r.stdout, /port: 11999/);
    assert.match(r.stdout, /apiToken: "\*{8}"/);
    assert.ok(!r.stdout.includes('my-very-secret-token-value'));
  });

  test('check-config explains every bad key of a broken file and exits 2', () => {
    const dir = tempDir();
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'dicom:\n  prot: 104\n  maxAssociations: -1\nhttp:\n  port: "web"\ndevices:\n  - aeTitle: US1\n    characterSet: latin1\n');
    const r = runCli(['check-config', '--config', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /4 problems/);
    for (const p of ['dicom.prot', 'dicom.maxAssociations', 'http.port', 'devices[0].characterSet']) assert.match(r.stderr, new RegExp(`- ${p.replace(/[[\].]/g, '\\$&')}:`));
    assert.match(r.stderr, /hint: use one of: "ISO_IR 100"/);
  });

  test('start runs until SIGTERM, then shuts down gracefully and closes the database', async () => {
    const dataDir = tempDir();
    const child = spawnGateway({ GATEWAY_DATA_DIR: dataDir, GATEWAY_HTTP_PORT: '0', GATEWAY_DICOM_PORT: '0', GATEWAY_HOST: '127.0.0.1' });
    const started = await waitForLog(child, 'gateway started');
    const port = Number(started['httpPort']);
    assert.ok(port > 0);
    // A keep-alive connection left open must not hold up the shutdown.
    await new Promise<void>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/healthz', agent: false, headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const stopped = waitForLog(child, 'gateway stopped');
    child.kill('SIGTERM');
    await stopped;
    const exit = await exitOf(child);
    assert.deepEqual(exit, { code: 0, signal: null });
    // A cleanly closed WAL database leaves no -wal file behind.
    assert.ok(existsSync(path.join(dataDir, 'gateway.db')));
    assert.ok(!existsSync(path.join(dataDir, 'gateway.db-wal')), 'the database was not closed');
  });

  test('start with a data directory it cannot use fails with a clear message', () => {
    const dir = tempDir();
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, '');
    const r = runCli(['start'], { env: { GATEWAY_DATA_DIR: path.join(blocker, 'data'), GATEWAY_HTTP_PORT: '0' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /data directory .* is not usable/);
  });

  test('the built CLI refuses to run on an old Node and says which it needs', (t) => {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')], { cwd: repoRoot });
    const built = path.join(repoRoot, 'dist', 'main.js');
    assert.match(readFileSync(built, 'utf8'), /^#!\/usr\/bin\/env node/);
    const current = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', built, 'version'], { encoding: 'utf8' });
    assert.equal(current.status, 0, current.stderr);
    const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) && Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' })) < 24);
    if (oldNode === undefined) {
      t.skip('no Node older than 24 on this machine');
      return;
    }
    const old = spawnSync(oldNode, [built, 'version'], { encoding: 'utf8' });
    assert.equal(old.status, 1);
    assert.match(old.stderr, /needs Node\.js 24 or newer/);
  });
});
