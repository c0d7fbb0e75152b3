// Shared pieces of the benchmark workloads: our gateway in a child process, DCMTK peers, timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** DCMTK peers always run with Nagle off. */
export const dcmtkEnv = { ...process.env, TCP_NODELAY: '1' };

export interface Measurement {
  /** What was measured, e.g. `C-ECHO, one association (2000 echoes)`. */
  name: string;
  unit: string;
  /** One value per round; the report shows the median. */
  ours: number[];
  /** What `ours` measured when it is not the gateway (e.g. a lower bound). */
  oursName?: string;
  /** The same for the reference peer, when there is one. */
  peer?: number[];
  peerName?: string;
}

export interface BenchGateway {
  pid: number;
  dicomPort: number;
  httpPort: number;
  dataDir: string;
  aeTitle: string;
  /** Peak resident set size of the gateway process so far (VmHWM), in bytes. */
  peakRss(): number;
  /** Starts a new peak (Linux: the process's VmHWM is reset to its current RSS). */
  resetPeakRss(): void;
  currentRss(): number;
  stop(): Promise<void>;
}

export interface BenchContext {
  gateway: BenchGateway;
  /** Rounds per measurement; more rounds, steadier medians. */
  rounds: number;
  log(line: string): void;
}

/** One workload module: `bench/<name>.ts` exports one of these; `run.ts` lists it. */
export interface Workload {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Measurement[]>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line === undefined ? 0 : Number(line.replace(/\D+/g, '')) * 1024;
  } catch {
    return 0;
  }
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts `node src/main.ts start` on free ports with a temp data dir; resolves when /healthz answers. */
export async function startGatewayProcess(options: { config?: string; env?: Record<string, string> } = {}): Promise<BenchGateway> {
  const dataDir = tempDir('gw-bench-');
  const dicomPort = await freePort();
  const httpPort = await freePort();
  const configFile = path.join(dataDir, 'bench.yaml');
  writeFileSync(configFile, options.config ?? 'logging:\n  level: info\n');
  const aeTitle = 'DICOM_GATEWAY';
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts', 'start', '--config', configFile], {
    cwd: path.join(import.meta.dirname, '..'),
    env: {
      ...process.env,
      GATEWAY_DATA_DIR: path.join(dataDir, 'data'),
      GATEWAY_DICOM_PORT: String(dicomPort),
      GATEWAY_HTTP_PORT: String(httpPort),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_AE_TITLE: aeTitle,
      GATEWAY_API_TOKEN: 'bench-token-0123456789abcdef',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = child.pid as number;
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited: ${stderr}`);
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 'the gateway');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    pid,
    dicomPort,
    httpPort,
    dataDir,
    aeTitle,
    peakRss: () => procStatus(pid, 'VmHWM'),
    resetPeakRss: () => writeFileSync(`/proc/${pid}/clear_refs`, '5'),
    currentRss: () => procStatus(pid, 'VmRSS'),
    stop: async () => {
      child.kill('SIGTERM');
      await exitOf(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A reference peer: its DICOM port and AE title, and how to stop it (its temp dir goes too). */
export interface Peer {
  port: number;
  aeTitle: string;
  stop(): Promise<void>;
}

function peer(child: ChildProcess, port: number, aeTitle: string, dir: string): Peer {
  return {
    port,
    aeTitle,
    stop: async () => {
      child.kill('SIGTERM');
      await exitOf(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** DCMTK's storescp as the reference peer (it answers C-ECHO too). */
export async function startStorescp(aeTitle = 'STORESCP'): Promise<Peer> {
  const port = await freePort();
  const dir = tempDir('gw-bench-storescp-');
  const child = spawn('storescp', ['-aet', aeTitle, '-od', dir, String(port)], { env: dcmtkEnv, stdio: 'ignore' });
  await waitUntil(() => portOpen(port), 'storescp');
  return peer(child, port, aeTitle, dir);
}

/**
 * Orthanc from Debian as a second reference peer for storage: its own SQLite index and file storage in a
 * temp dir, no plugins, any calling AE may store. Ready when its REST API answers.
 */
export async function startOrthanc(aeTitle = 'ORTHANC'): Promise<Peer> {
  const port = await freePort();
  const httpPort = await freePort();
  const dir = tempDir('gw-bench-orthanc-');
  const config = {
    Name: 'bench',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'index'),
    Plugins: [],
    DicomAet: aeTitle,
    DicomPort: port,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomCheckCalledAet: false,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowEcho: true,
    UnknownSopClassAccepted: true,
  };
  const configFile = path.join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn('Orthanc', [configFile], { env: dcmtkEnv, stdio: 'ignore' });
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}`);
    try {
      return (await fetch(`http://127.0.0.1:${httpPort}/system`)).ok;
    } catch {
      return false;
    }
  }, 'Orthanc', 60_000);
  return peer(child, port, aeTitle, dir);
}

/** Runs a program to its end and returns the wall time in ms; fails on a non-zero exit. */
export function timed(program: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(program, args, { env: dcmtkEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${program} ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}
