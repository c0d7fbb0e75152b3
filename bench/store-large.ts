// C-STORE of one 1 GiB multi-frame object (2,048 frames of 512x512 16-bit): the gateway's peak RSS
// while it receives (it must stream to disk, never hold the object), and the wall time, against
// DCMTK storescp. The file is written by streaming frames behind a small dump2dcm-made header, so
// that the bench process never holds it either.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { makeInstance } from '../fixtures/instances.ts';
import { startStorescp, tempDir, timed, type BenchContext, type Measurement, type Workload } from './support.ts';

const frames = 2048;
const side = 512;
const frameBytes = side * side * 2;
const multiframeGrayscaleWord = '1.2.840.10008.5.1.4.1.1.7.3';
const uidRoot = '1.2.826.0.1.3680043.2.1125.79';
const MiB = 1024 * 1024;

/** Explicit VR little endian element header with a 2-byte length (IS, US, ...). */
function shortElement(group: number, element: number, vr: string, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(element, 2);
  head.write(vr, 4, 'latin1');
  head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

/**
 * Turns a one-frame instance into `frames` frames: Number of Frames goes in before Rows, and the
 * pixel data element's length grows; the frames themselves are appended by the caller.
 */
function multiframeHeader(single: Buffer): Buffer {
  const rowsTag = Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53]); // (0028,0010) US
  const pixelTag = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0x00, 0x00]); // (7FE0,0010) OW
  const rowsAt = single.indexOf(rowsTag);
  const pixelAt = single.lastIndexOf(pixelTag);
  if (rowsAt < 0 || pixelAt < 0) throw new Error('template without Rows or Pixel Data');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(frames * frameBytes, 0);
  return Buffer.concat([
    single.subarray(0, rowsAt),
    // IS values have an even length: "2048".
    shortElement(0x0028, 0x0008, 'IS', Buffer.from(String(frames), 'latin1')),
    single.subarray(rowsAt, pixelAt + pixelTag.length),
    length,
  ]);
}

function writeLargeInstance(dir: string, sopInstanceUid: string): string {
  const template = makeInstance(dir, 'frame', { sopInstanceUid, sopClassUid: multiframeGrayscaleWord, studyInstanceUid: `${uidRoot}.1`, seriesInstanceUid: `${uidRoot}.2`, rows: side, columns: side });
  const single = readFileSync(template);
  const frame = single.subarray(single.length - frameBytes);
  const file = path.join(dir, 'large.dcm');
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, multiframeHeader(single));
    for (let i = 0; i < frames; i++) writeSync(fd, frame);
  } finally {
    closeSync(fd);
  }
  return file;
}

export const storeLargeWorkload: Workload = {
  name: 'store-large',
  description: `C-STORE of one ${(frames * frameBytes) / MiB / 1024} GiB multi-frame object (${frames} frames of ${side}x${side}, 16-bit), one storescu association`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const dir = tempDir('gw-bench-large-');
    const peer = await startStorescp();
    const gw = ctx.gateway;
    const time: Measurement = { name: 'wall time', unit: 'ms', ours: [], peer: [], peerName: 'storescp' };
    const rss: Measurement = { name: 'gateway peak RSS while receiving', unit: 'MiB', ours: [] };
    try {
      // Rounds are few: each moves 1 GiB to two receivers and through fsync.
      for (let round = 1; round <= Math.min(ctx.rounds, 3); round++) {
        const file = writeLargeInstance(dir, `${uidRoot}.3.${round}`);
        const args = (port: number, ae: string) => ['-aet', 'BENCH', '-aec', ae, '-xe', '127.0.0.1', String(port), file];
        gw.resetPeakRss();
        time.ours.push(await timed('storescu', args(gw.dicomPort, gw.aeTitle)));
        rss.ours.push(gw.peakRss() / MiB);
        time.peer?.push(await timed('storescu', args(peer.port, peer.aeTitle)));
        ctx.log(`store-large round ${round} done`);
      }
      return [time, rss];
    } finally {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
