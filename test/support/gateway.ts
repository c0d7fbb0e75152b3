import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { Gateway, type ListeningPorts } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import type { DimseService } from '../../src/dimse/index.ts';
import { configSchema, type ConfigInput, type GatewayConfig } from '../../src/config/index.ts';
import type { JobCatalog } from '../../src/job-catalog.ts';
import { LogCapture } from './log-capture.ts';
import { tempDir } from './temp.ts';

export const testToken = 'test-token-0123456789abcdef';

export interface RunningGateway {
  gateway: Gateway;
  config: GatewayConfig;
  ports: ListeningPorts;
  baseUrl: string;
  logs: LogCapture;
  /** fetch against the API with the test token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** Deep-merges plain objects; arrays and values of `b` win. */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The config of a test gateway: free ports on loopback, its own temp data dir, the test token. */
export function testConfig(overrides: ConfigInput = {}, dataDir: string = tempDir('gw-data-')): GatewayConfig {
  const base = {
    dataDir,
    gateway: { timezone: 'Europe/Berlin' },
    dicom: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0, apiToken: testToken },
    logging: { level: 'debug' },
    shutdown: { timeoutSeconds: 5 },
  };
  return configSchema.parse(merge(base, overrides as Record<string, unknown>));
}

/** Starts a real gateway in this process; stopped when the test file ends if the test did not. */
export async function startGateway(overrides: ConfigInput = {}, options: { clock?: Clock; dimseServices?: readonly DimseService[]; jobs?: Partial<JobCatalog> } = {}): Promise<RunningGateway> {
  // The data dir goes only after the gateway has stopped (its log file is still open until then).
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gw-data-'));
  const config = testConfig(overrides, dataDir);
  const logs = new LogCapture();
  const gateway = new Gateway({
    config,
    stdout: logs,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.dimseServices === undefined ? {} : { dimseServices: options.dimseServices }),
    ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
  });
  let ports: ListeningPorts;
  try {
    ports = await gateway.start();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  after(async () => {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const baseUrl = `http://127.0.0.1:${ports.http}`;
  return {
    gateway,
    config,
    ports,
    baseUrl,
    logs,
    api: (path, init = {}) =>
      fetch(`${baseUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${testToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
      }),
    stop: () => gateway.stop(),
  };
}
