import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { repoRoot } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

test('config/gateway.example.yaml is valid and shows the defaults', () => {
  const { config } = loadConfig({ file: path.join(repoRoot, 'config', 'gateway.example.yaml'), env: {}, cwd: tempDir() });
  const { config: defaults } = loadConfig({ env: {}, cwd: tempDir() });
  assert.deepEqual({ ...config, dataDir: '', gateway: { ...config.gateway, timezone: '' } }, { ...defaults, dataDir: '', gateway: { ...defaults.gateway, timezone: '' } });
});
