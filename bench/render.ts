// Rendering: frames per second of our render pool (worker threads, JPEG by sharp) against DCMTK's
// dcmj2pnm, and a cine to MP4 against ffmpeg alone encoding the same raw frames with the same settings.
// Fixtures (made here, in a temp dir): a 200-frame 512x512 16-bit CT with a window, 100 single-frame
// 512x512 CT images, and a 300-frame 640x480 RGB cine (native pixels, so the raw frames fed to the
// plain ffmpeg run are the object's own pixel data).
import { availableParallelism } from 'node:os';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { greyPattern, makeImage, packGrey, rgbPattern, ultrasoundMultiframeStorage } from '../fixtures/images.ts';
import { probeFfmpeg, RenderPool, type RenderSettings } from '../src/imaging/index.ts';
import { tempDir, timed, type BenchContext, type Measurement, type Workload } from './support.ts';

const ctFrames = 200;
const singles = 100;
const cineFrames = 300;
const window = ['(0028,1050) DS [1000]', '(0028,1051) DS [1800]', '(0028,1052) DS [-1024]', '(0028,1053) DS [1]'];

function ctPixels(frames: number, offset = 0): Buffer {
  return Buffer.concat(Array.from({ length: frames }, (_, f) => packGrey(greyPattern(512, 512, 16, false, f + offset), 16, 16)));
}

async function ms(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export const renderWorkload: Workload = {
  name: 'render',
  description: `rendering: a ${ctFrames}-frame 512x512 16-bit CT and ${singles} single CT images to JPEG (vs dcmj2pnm), a ${cineFrames}-frame 640x480 cine to MP4 (vs ffmpeg alone)`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const dir = tempDir('gw-bench-render-');
    const threads = availableParallelism();
    const pool = new RenderPool({ threads });
    try {
      const ffmpeg = await probeFfmpeg('ffmpeg');
      if (!ffmpeg.available) throw new Error(`the render benchmark needs ffmpeg: ${ffmpeg.reason}`);
      const settings: RenderSettings = { jpeg: { quality: 90, maxSize: 2048 }, video: { ffmpegPath: 'ffmpeg', preset: 'veryfast', crf: 23 }, defaultFps: 25, windowPresets: {}, ffmpeg };
      ctx.log('making fixtures');
      const multi = makeImage(dir, 'ct-multi', { photometric: 'MONOCHROME2', rows: 512, columns: 512, frames: ctFrames, bitsAllocated: 16, bitsStored: 16, pixels: ctPixels(ctFrames), extra: window, modality: 'CT' }).file;
      const singleDir = path.join(dir, 'singles');
      mkdirSync(singleDir);
      const files = Array.from({ length: singles }, (_, i) => makeImage(singleDir, `ct${i}`, { photometric: 'MONOCHROME2', rows: 512, columns: 512, bitsAllocated: 16, bitsStored: 16, pixels: ctPixels(1, i), extra: window, modality: 'CT' }).file);
      const cinePixels = Buffer.concat(Array.from({ length: cineFrames }, (_, f) => rgbPattern(480, 640, f)));
      const cine = makeImage(dir, 'cine', { photometric: 'RGB', rows: 480, columns: 640, frames: cineFrames, bitsAllocated: 8, bitsStored: 8, samples: 3, pixels: cinePixels, extra: ['(0018,0040) IS [25]'], sopClassUid: ultrasoundMultiframeStorage, modality: 'US' }).file;
      const raw = path.join(dir, 'cine.rgb');
      writeFileSync(raw, cinePixels);
      // The same cine in grey with a window: its frames go through our pipeline into ffmpeg's stdin.
      const greyFrames = Array.from({ length: cineFrames }, (_, f) => packGrey(greyPattern(480, 640, 8, false, f), 8, 8));
      const greyCine = makeImage(dir, 'grey-cine', { photometric: 'MONOCHROME2', rows: 480, columns: 640, frames: cineFrames, bitsAllocated: 8, bitsStored: 8, pixels: Buffer.concat(greyFrames), extra: ['(0018,0040) IS [25]', '(0028,1050) DS [128]', '(0028,1051) DS [256]'], sopClassUid: ultrasoundMultiframeStorage, modality: 'US' }).file;
      const greyRaw = path.join(dir, 'cine.gray');
      // A window of 256 centred at 128 maps 8-bit values to themselves (to within rounding): the peer's input.
      writeFileSync(greyRaw, Buffer.concat(greyFrames));

      const multiFrame: Measurement = { name: `${ctFrames}-frame 512x512 16-bit CT, every frame to JPEG, ${threads} threads vs dcmj2pnm +Fa (higher is better)`, unit: 'frames/s', ours: [], peer: [], peerName: 'dcmj2pnm' };
      const folder: Measurement = { name: `${singles} single 512x512 CT images to JPEG vs one dcmj2pnm per file (higher is better)`, unit: 'frames/s', ours: [], peer: [], peerName: 'dcmj2pnm' };
      const greyVideo: Measurement = { name: `${cineFrames}-frame 640x480 grey cine with a window (frames piped through our pipeline) vs ffmpeg alone on raw grey frames, same settings`, unit: 'ms', ours: [], peer: [], peerName: 'ffmpeg' };
      const video: Measurement = { name: `${cineFrames}-frame 640x480 RGB cine to MP4 (libx264 veryfast, crf 23, nice 10) vs ffmpeg alone on the raw frames, same settings`, unit: 'ms', ours: [], peer: [], peerName: 'ffmpeg' };

      for (let round = 0; round <= ctx.rounds; round++) {
        const out = path.join(dir, `out-${round}`);
        mkdirSync(out);
        // Our frames split across the pool's threads, as the pool would run several instances at once.
        const per = Math.ceil(ctFrames / threads);
        const oursMulti = await ms(() => Promise.all(Array.from({ length: threads }, (_, t) => pool.renderFrames(multi, path.join(out, 'multi'), { from: t * per, to: (t + 1) * per }, settings))));
        const peerMulti = await timed('dcmj2pnm', ['+Fa', '+Wi', '1', '+oj', '+Jq', '90', multi, path.join(out, 'peer-multi')]);
        let next = 0;
        const oursFolder = await ms(() =>
          Promise.all(
            Array.from({ length: threads * 2 }, async () => {
              for (let i = next++; i < files.length; i = next++) await pool.renderInstance(files[i] as string, path.join(out, 'singles', String(i)), settings);
            }),
          ),
        );
        const peerFolder = await ms(async () => {
          for (const [i, f] of files.entries()) await timed('dcmj2pnm', ['+Wi', '1', '+oj', '+Jq', '90', f, path.join(out, `peer-${i}.jpg`)]);
        });
        const oursVideo = await ms(() => pool.renderInstance(cine, path.join(out, 'cine'), settings));
        // Render threads run at nice 10 (so does the ffmpeg they start): the peer gets the same.
        const peerVideo = await timed('nice', ['-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '640x480', '-framerate', '25', '-i', raw, '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', '-y', path.join(out, 'peer.mp4')]);
        const oursGrey = await ms(() => pool.renderInstance(greyCine, path.join(out, 'grey-cine'), settings));
        const peerGrey = await timed('nice', ['-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', '640x480', '-framerate', '25', '-i', greyRaw, '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', '-y', path.join(out, 'peer-grey.mp4')]);
        rmSync(out, { recursive: true, force: true });
        if (round > 0) {
          greyVideo.ours.push(oursGrey);
          greyVideo.peer?.push(peerGrey);
          multiFrame.ours.push((ctFrames * 1000) / oursMulti);
          multiFrame.peer?.push((ctFrames * 1000) / peerMulti);
          folder.ours.push((singles * 1000) / oursFolder);
          folder.peer?.push((singles * 1000) / peerFolder);
          video.ours.push(oursVideo);
          video.peer?.push(peerVideo);
        }
        ctx.log(`render round ${round}/${ctx.rounds} done${round === 0 ? ' (warm-up)' : ''}`);
      }
      return [multiFrame, folder, video, greyVideo];
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
