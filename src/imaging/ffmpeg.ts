import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Whether ffmpeg runs, and which one. */
export type FfmpegStatus = { available: true; path: string; version: string } | { available: false; path: string; reason: string };

/** Runs `ffmpeg -version`; never throws (a missing ffmpeg is a state, not a crash). */
export function probeFfmpeg(path: string): Promise<FfmpegStatus> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(path, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      resolve({ available: false, path, reason: (err as Error).message });
      return;
    }
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      resolve({ available: false, path, reason: err.code === 'ENOENT' ? `${path} not found` : err.message });
    });
    child.once('close', (code) => {
      if (code !== 0) resolve({ available: false, path, reason: `${path} -version exited with ${code}` });
      else resolve({ available: true, path, version: /ffmpeg version (\S+)/.exec(out)?.[1] ?? 'unknown' });
    });
  });
}

export interface FfmpegRun {
  stdin: Writable;
  /** Resolves when ffmpeg exits 0; rejects with its last error lines otherwise. */
  done: Promise<void>;
}

/** Spawns ffmpeg with `args`; stdin is the input, stderr is kept for the error message. */
export function runFfmpeg(path: string, args: readonly string[], signal?: AbortSignal): FfmpegRun {
  const child = spawn(path, ['-hide_banner', '-nostats', '-loglevel', 'error', ...args], { stdio: ['pipe', 'ignore', 'pipe'], ...(signal === undefined ? {} : { signal }) });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // A write after ffmpeg died fails with EPIPE; the exit code tells the story.
  child.stdin.on('error', () => undefined);
  const done = (async () => {
    const [code, sig] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (code !== 0) throw new Error(`ffmpeg failed (${sig ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`);
  })();
  // 'error' (spawn failure) also ends in 'close'; keep the message.
  child.once('error', (err) => {
    stderr += err.message;
  });
  return { stdin: child.stdin, done };
}

/** Writes a chunk, waiting for 'drain' when the pipe is full (back-pressure: frames are not queued in memory). */
async function write(stream: Writable, chunk: Uint8Array): Promise<void> {
  if (stream.destroyed || stream.writableEnded) throw new Error('ffmpeg closed its input');
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error('ffmpeg closed its input'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

/**
 * Writes the chunks into ffmpeg's stdin and waits for it to finish. The next chunk is made while the
 * last drains into the pipe (at most two in memory); when making or writing fails, ffmpeg's input is
 * cut and its exit awaited, so no process is left behind.
 */
export async function feed(run: FfmpegRun, chunks: Iterable<Uint8Array>): Promise<void> {
  try {
    let draining: Promise<void> = Promise.resolve();
    for (const chunk of chunks) {
      await draining;
      draining = write(run.stdin, chunk);
    }
    await draining;
    run.stdin.end();
  } catch (err) {
    run.stdin.destroy();
    await run.done.catch(() => undefined);
    throw err;
  }
  await run.done;
}
