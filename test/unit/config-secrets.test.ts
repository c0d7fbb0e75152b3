import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, loadSecretKey, sealSecret } from '../../src/config/index.ts';
import { mainTs } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

describe('sealed secrets in the config file', () => {
  test('dicom-gateway seal-secret makes the key (mode 0600) and a value that loadConfig opens', () => {
    const dir = tempDir();
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, `dataDir: ${path.join(dir, 'data')}\n`);
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', mainTs, 'seal-secret', '--config', configFile], { input: 'a-very-long-api-token-0123456789\n', encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    assert.equal(run.status, 0, run.stderr);
    const sealed = run.stdout.trim();
    assert.match(sealed, /^enc:v1:[A-Za-z0-9+/=]+$/);
    assert.doesNotMatch(sealed, /api-token/);
    const keyFile = path.join(dir, 'data', 'secret.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    writeFileSync(configFile, `dataDir: ${path.join(dir, 'data')}\nhttp:\n  apiToken: ${sealed}\n`);
    const { config } = loadConfig({ file: configFile, env: {}, cwd: dir });
    assert.equal(config.http.apiToken, 'a-very-long-api-token-0123456789');
  });

  test('a value sealed with another key, or without a key file, is an error naming its path', () => {
    const dir = tempDir();
    const other = loadSecretKey(path.join(dir, 'other.key'), true);
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, `dataDir: ${path.join(dir, 'data')}\nhttp:\n  apiToken: ${sealSecret('a-very-long-api-token-0123456789', other)}\n`);
    assert.throws(
      () => loadConfig({ file: configFile, env: {}, cwd: dir }),
      (err: unknown) => err instanceof ConfigError && err.issues[0]?.path === 'http.apiToken' && /does not exist/.test(err.issues[0].message),
    );
    loadSecretKey(path.join(dir, 'data', 'secret.key'), true);
    assert.throws(
      () => loadConfig({ file: configFile, env: {}, cwd: dir }),
      (err: unknown) => err instanceof ConfigError && err.issues[0]?.path === 'http.apiToken' && /does not open/.test(err.issues[0].message),
    );
    writeFileSync(configFile, readFileSync(configFile, 'utf8') + `secretKeyFile: ${path.join(dir, 'other.key')}\n`);
    assert.equal(loadConfig({ file: configFile, env: {}, cwd: dir }).config.http.apiToken, 'a-very-long-api-token-0123456789');
  });
});
