import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, maskSecrets } from '../../src/config/index.ts';
import { tempDir } from '../support/temp.ts';

function writeConfig(text: string): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  return { dir, file };
}

function expectIssues(fn: () => unknown): { path: string; message: string; hint?: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the config to be rejected');
}

describe('config', () => {
  test('built-in defaults when no file exists', () => {
    const dir = tempDir();
    const { config, file } = loadConfig({ env: {}, cwd: dir });
    assert.equal(file, null);
    assert.equal(config.dicom.port, 11112);
    assert.equal(config.http.port, 8080);
    assert.equal(config.gateway.aeTitle, 'DICOM_GATEWAY');
    assert.equal(config.dataDir, path.join(dir, 'data'));
    assert.equal(config.queue.driver, 'sqlite');
    assert.equal(config.http.apiToken, undefined);
  });

  test('config/gateway.yaml in the working directory is the default file', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), 'dicom:\n  port: 104\n');
    const { config, file } = loadConfig({ env: {}, cwd: dir });
    assert.equal(file, path.join(dir, 'config', 'gateway.yaml'));
    assert.equal(config.dicom.port, 104);
  });

  test('environment overrides win over the file', () => {
    const { dir, file } = writeConfig('dataDir: /srv/a\ndicom:\n  port: 104\nhttp:\n  port: 81\n');
    const { config } = loadConfig({
      file,
      cwd: dir,
      env: {
        GATEWAY_DATA_DIR: '/srv/b',
        GATEWAY_DICOM_PORT: '11113',
        GATEWAY_HTTP_PORT: '8081',
        GATEWAY_AE_TITLE: 'PRAXIS_GW',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_API_TOKEN: 'a-long-enough-token-1234',
        GATEWAY_TIMEZONE: 'Europe/Berlin',
      },
    });
    assert.equal(config.dataDir, '/srv/b');
    assert.equal(config.dicom.port, 11113);
    assert.equal(config.http.port, 8081);
    assert.equal(config.gateway.aeTitle, 'PRAXIS_GW');
    assert.equal(config.dicom.host, '127.0.0.1');
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.http.apiToken, 'a-long-enough-token-1234');
    assert.equal(config.gateway.timezone, 'Europe/Berlin');
  });

  test('GATEWAY_CONFIG names the file; --config wins over it', () => {
    const a = writeConfig('dicom:\n  port: 1001\n');
    const b = writeConfig('dicom:\n  port: 1002\n');
    assert.equal(loadConfig({ env: { GATEWAY_CONFIG: a.file }, cwd: a.dir }).config.dicom.port, 1001);
    assert.equal(loadConfig({ file: b.file, env: { GATEWAY_CONFIG: a.file }, cwd: a.dir }).config.dicom.port, 1002);
  });

  test('every problem of a broken file is reported at once, with its path and a hint', () => {
    const { dir, file } = writeConfig(`
gateway:
  aeTitle: THIS_TITLE_IS_FAR_TOO_LONG
  timezone: Mars/Olympus
dicom:
  port: 70000
  tls:
    enabled: true
http:
  apiToken: short
queue:
  driver: redis
logging:
  level: loud
devices:
  - aeTitle: US1
    services: [echo, telepathy]
  - aeTitle: US1
    port: 0
unknownSection: 1
`);
    const issues = expectIssues(() => loadConfig({ file, env: {}, cwd: dir }));
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'devices[0].services[1]',
      'devices[1].aeTitle',
      'devices[1].port',
      'dicom.port',
      'dicom.tls.cert',
      'dicom.tls.key',
      'gateway.aeTitle',
      'gateway.timezone',
      'http.apiToken',
      'logging.level',
      'queue.redisUrl',
      'unknownSection',
    ]);
    const level = issues.find((i) => i.path === 'logging.level');
    assert.match(level?.hint ?? '', /"debug"/);
    const unknown = issues.find((i) => i.path === 'unknownSection');
    assert.match(unknown?.message ?? '', /unknown key/);
  });

  test('a bad environment value is reported with the variable that set it', () => {
    const issues = expectIssues(() => loadConfig({ env: { GATEWAY_HTTP_PORT: 'eighty' }, cwd: tempDir() }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'http.port');
    assert.match(issues[0]?.message ?? '', /GATEWAY_HTTP_PORT/);
  });

  test('YAML syntax errors name the line', () => {
    const { dir, file } = writeConfig('dicom:\n  port: 104\n   host: [unclosed\n');
    const issues = expectIssues(() => loadConfig({ file, env: {}, cwd: dir }));
    assert.ok(issues.length >= 1);
    assert.match(issues[0]?.path ?? '', /line \d+/);
  });

  test('a missing explicit file is an error, not silent defaults', () => {
    const dir = tempDir();
    const issues = expectIssues(() => loadConfig({ file: 'nope.yaml', env: {}, cwd: dir }));
    assert.match(issues[0]?.message ?? '', /file not found/);
  });

  test('a file that is not a mapping is refused', () => {
    const { dir, file } = writeConfig('- just\n- a list\n');
    const issues = expectIssues(() => loadConfig({ file, env: {}, cwd: dir }));
    assert.equal(issues[0]?.path, '(root)');
  });

  test('devices get defaults and may not reuse the gateway AE title', () => {
    const { dir, file } = writeConfig('devices:\n  - aeTitle: " US_ROOM1 "\n    host: 192.168.1.20\n    port: 104\n  - aeTitle: DICOM_GATEWAY\n');
    const issues = expectIssues(() => loadConfig({ file, env: {}, cwd: dir }));
    assert.deepEqual(issues.map((i) => i.path), ['devices[1].aeTitle']);
    const ok = writeConfig('devices:\n  - aeTitle: " US_ROOM1 "\n    host: 192.168.1.20\n    port: 104\n');
    const { config } = loadConfig({ file: ok.file, env: {}, cwd: ok.dir });
    assert.equal(config.devices[0]?.aeTitle, 'US_ROOM1');
    assert.equal(config.devices[0]?.characterSet, 'ISO_IR 100');
    assert.deepEqual(config.devices[0]?.services, ['echo', 'worklist', 'store', 'mpps', 'commitment']);
  });

  test('secrets are masked for printing', () => {
    const masked = maskSecrets({ http: { apiToken: 'secret-value-123456' }, queue: { redisUrl: 'redis://user:pw@host:6379' }, dicom: { port: 104 } }) as Record<string, Record<string, unknown>>;
    assert.equal(masked['http']?.['apiToken'], '********');
    assert.equal(masked['queue']?.['redisUrl'], 'redis://user:********@host:6379');
    assert.equal(masked['dicom']?.['port'], 104);
  });
});
