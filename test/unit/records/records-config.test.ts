import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';
import { exportFileName, fileNamePart, numberedName } from '../../../src/domain/export-name.ts';
import { tempDir } from '../../support/temp.ts';

function issuesOf(yaml: string): { path: string; message: string; hint?: string }[] {
  const dir = tempDir();
  const file = path.join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  try {
    loadConfig({ file, env: {}, cwd: dir });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  return assert.fail('expected the config to be rejected');
}

describe('records config', () => {
  test('defaults: patient number from PatientID by ([0-9]+), images and videos as BILD, posters not filed', () => {
    const { config } = loadConfig({ env: {}, cwd: tempDir() });
    assert.equal(config.records.assignment.mode, 'id');
    assert.equal(config.records.assignment.attribute, 'PatientID');
    assert.equal(config.records.assignment.pattern, '([0-9]+)');
    assert.equal(config.records.assignment.createUnknown, false);
    assert.deepEqual(config.records.kinds, { image: 'BILD', video: 'BILD', poster: 'none', document: 'DOK' });
    assert.equal(config.records.export.folder, undefined);
    assert.equal(config.records.webhook.url, undefined);
  });

  test('every bad pattern and setting is named at once, patterns with a hint', () => {
    const issues = issuesOf(
      [
        'records:',
        '  kinds: { video: VIDEO }',
        '  assignment:',
        '    attribute: PatientName',
        "    pattern: '(?<=PVS)([0-9]+)'",
        '    vnymd:',
        "      pattern: '(.+)_(.+)'",
        '      order: VNYMX',
        '  export:',
        "    fileName: '../{patientId}_{when}.jpg'",
        '  webhook:',
        '    url: http://127.0.0.1:9/hook',
        'http: { port: -1 }',
      ].join('\n'),
    );
    const byPath = new Map(issues.map((i) => [i.path, i]));
    assert.deepEqual([...byPath.keys()].sort(), [
      'http.port',
      'records.assignment.attribute',
      'records.assignment.pattern',
      'records.assignment.vnymd.order',
      'records.assignment.vnymd.pattern',
      'records.export.fileName',
      'records.kinds.video',
      'records.webhook.secret',
    ]);
    assert.match(byPath.get('records.assignment.pattern')?.message ?? '', /not a valid pattern/);
    assert.match(byPath.get('records.assignment.pattern')?.hint ?? '', /RE2 syntax/);
    assert.match(byPath.get('records.assignment.vnymd.pattern')?.message ?? '', /2 capture group\(s\); it needs exactly 5/);
    assert.match(byPath.get('records.kinds.video')?.hint ?? '', /BILD, DOK, BEF, none/);
    const nameIssues = issues.filter((i) => i.path === 'records.export.fileName').map((i) => i.message);
    assert.equal(nameIssues.length, 3, nameIssues.join('; '));
  });

  test('the webhook secret may come from GATEWAY_RECORDS_WEBHOOK_SECRET; a short one is named with the variable', () => {
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    writeFileSync(file, 'records:\n  webhook:\n    url: https://pvs.example/hook\n');
    const { config } = loadConfig({ file, env: { GATEWAY_RECORDS_WEBHOOK_SECRET: 'from-the-environment-0123' }, cwd: dir });
    assert.equal(config.records.webhook.secret, 'from-the-environment-0123');
    try {
      loadConfig({ file, env: { GATEWAY_RECORDS_WEBHOOK_SECRET: 'short' }, cwd: dir });
      assert.fail('expected the short secret to be refused');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.issues[0]?.path, 'records.webhook.secret');
      assert.match(err.issues[0]?.message ?? '', /GATEWAY_RECORDS_WEBHOOK_SECRET/);
    }
  });

  test('a pattern with the wrong number of groups says how many it needs', () => {
    const issues = issuesOf("records:\n  assignment:\n    pattern: 'PVS-[0-9]+'\n");
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'records.assignment.pattern');
    assert.match(issues[0]?.message ?? '', /0 capture group\(s\); it needs exactly 1/);
    assert.match(issues[0]?.hint ?? '', /\(\?:\.\.\.\)/);
  });
});

describe('export file names', () => {
  test('placeholders are filled with values cut down to letters, digits, - and _', () => {
    const values = { patientId: '12/../34', date: '20260315', type: 'BILD', n: '3', entryId: '9', ext: 'jpg' };
    assert.equal(exportFileName('{patientId}_{date}_{type}_{n}.{ext}', values), '12____34_20260315_BILD_3.jpg');
    assert.equal(exportFileName('{entryId}-{n}.jpg', values), '9-3.jpg');
    assert.equal(fileNamePart('Müller Jürgen'), 'Müller_Jürgen');
    assert.equal(fileNamePart(''), '_');
    assert.equal(fileNamePart('a:b*c?"<>|'), 'a_b_c_____');
  });

  test('a taken name gets a number before its extension', () => {
    assert.equal(numberedName('12_20260315_BILD_1.jpg', 2), '12_20260315_BILD_1 (2).jpg');
    assert.equal(numberedName('plain', 3), 'plain (3)');
  });
});
