// A worker thread of the render pool: decoding and pixel work run here, off the event loop that serves DICOM.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { isGatewayError } from '../domain/errors.ts';
import { initDecoders } from './decode.ts';
import { renderFramesToJpeg, renderInstance } from './render-instance.ts';
import type { PoolRequest, PoolResponse } from './pool-messages.ts';

const port = parentPort;
if (port === null) throw new Error('render-worker runs as a worker thread');
// The pool runs one thread per core already: libvips threads of their own would only compete with them.
sharp.concurrency(1);
// Rendered images are not rendered twice: libvips' operation cache would only hold memory.
sharp.cache(false);
// On Linux a nice value belongs to the thread that sets it (and to the ffmpeg it starts): rendering
// yields the CPU to the thread that serves DICOM (measured, 1,000 instances over 4 associations
// while they rendered: 3.5 to 4.8 s, against 5.8 to 7.1 s without). Not allowed everywhere; then rendering runs at normal priority.
try {
  setPriority(10);
} catch {
  // keep the default priority
}

const ready = initDecoders();

port.on('message', (request: PoolRequest) => {
  void (async () => {
    let response: PoolResponse;
    try {
      await ready;
      const { task } = request;
      const result = task.op === 'instance' ? await renderInstance(task.file, task.outBase, task.settings) : await renderFramesToJpeg(task.file, task.outDir, task.range, task.settings);
      response = { id: request.id, ok: true, result };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      response = { id: request.id, ok: false, error: { name: e.name, message: e.message, code: isGatewayError(err) ? err.code : typeof e.code === 'string' ? e.code : undefined } };
    }
    port.postMessage(response);
  })();
});
