import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after } from 'node:test';
import { tempDir } from './temp.ts';

export { freePort } from './ports.ts';

/**
 * A free port below the ephemeral range (32768 and up on Linux), where the listeners that other test
 * files open on port 0 never land: a Redis stopped and started again gets its port back.
 */
async function freeStablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stops it (SIGTERM: Redis saves and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (append-only file: nothing lost). */
  start(): Promise<void>;
}

/**
 * A `redis-server` of this test's own: a free port, a temp directory, append-only file with fsync on
 * every write so that a stop and restart keeps every job. Stopped when the test file ends.
 */
export async function startRedis(): Promise<RedisServer> {
  const dir = tempDir('gw-redis-');
  const port = await freeStablePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const until = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (Date.now() > until) throw new Error('redis-server did not answer within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const stop = async (): Promise<void> => {
    if (child === undefined || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await exited;
    child = undefined;
  };

  await start();
  after(() => stop());
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
