import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { greyPattern, makeImage, packGrey, rgbPattern, ultrasoundMultiframeStorage } from '../../fixtures/images.ts';
import { ffprobe, frameHashes, makeVideoInstance, VideoSyntax } from '../../fixtures/video.ts';
import { frameRenderer, initDecoders, openInstance, parseInstance, probeFfmpeg, RenderPool, type FfmpegStatus, type RenderSettings } from '../../src/imaging/index.ts';
import { tempDir } from '../support/temp.ts';

const dir = tempDir('render-video-');
const pool = new RenderPool({ threads: 2 });
after(() => pool.close());
let ffmpeg: FfmpegStatus;
before(async () => {
  ffmpeg = await probeFfmpeg('ffmpeg');
  // Some tests render in this thread too (the pool's threads load their own decoders).
  await initDecoders();
});
const settings = (): RenderSettings => ({
  jpeg: { quality: 90, maxSize: 1024 },
  video: { ffmpegPath: 'ffmpeg', preset: 'veryfast', crf: 23 },
  defaultFps: 10,
  windowPresets: {},
  ffmpeg,
});

function multiFrameGrey(name: string, frames: number, extra: string[]): string {
  const rows = 49;
  const columns = 65;
  const pixels = Buffer.concat(Array.from({ length: frames }, (_, f) => packGrey(greyPattern(rows, columns, 12, false, f), 16, 12)));
  return makeImage(dir, name, { photometric: 'MONOCHROME2', rows, columns, frames, bitsAllocated: 16, bitsStored: 12, pixels, extra: ['(0028,1050) DS [2048]', '(0028,1051) DS [4096]', ...extra] }).file;
}

describe('multi-frame and video objects to MP4', () => {
  test('a grey multi-frame object: H.264 yuv420p, even size, frame count, rate from Frame Time, and a poster', async () => {
    const file = multiFrameGrey('ct-mf', 12, ['(0018,1063) DS [40]']);
    const result = await pool.renderInstance(file, path.join(dir, 'out', 'ct-mf'), settings());
    const [video, poster] = result.derived;
    assert.equal(video?.kind, 'video');
    assert.equal(poster?.kind, 'poster');
    const probed = ffprobe(video?.file ?? '');
    assert.deepEqual(probed, { codec: 'h264', pixelFormat: 'yuv420p', width: 66, height: 50, frames: 12, fps: 25 });
    assert.deepEqual({ width: video?.width, height: video?.height, frames: video?.frames, fps: video?.fps }, { width: 66, height: 50, frames: 12, fps: 25 });
    const meta = await sharp(readFileSync(poster?.file ?? '')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 65, 49]);
    // faststart: the moov box comes before the media data.
    const head = readFileSync(video?.file ?? '').subarray(0, 4096).toString('latin1');
    assert.ok(head.indexOf('moov') >= 0 && (head.indexOf('mdat') === -1 || head.indexOf('moov') < head.indexOf('mdat')), 'moov before mdat');
  });

  test('an RGB cine: rate from Frame Time Vector, else Cine Rate, else the default', async () => {
    const rows = 48;
    const columns = 64;
    const frames = 9;
    const pixels = Buffer.concat(Array.from({ length: frames }, (_, f) => rgbPattern(rows, columns, f)));
    const make = (name: string, extra: string[]) =>
      makeImage(dir, name, { photometric: 'RGB', rows, columns, frames, bitsAllocated: 8, bitsStored: 8, samples: 3, pixels, extra, sopClassUid: ultrasoundMultiframeStorage, modality: 'US' }).file;
    const cases: [string, string[], number][] = [
      ['us-vector', ['(0018,1065) DS [0\\50\\50\\50\\50\\50\\50\\50\\50]'], 20],
      ['us-cine', ['(0018,0040) IS [15]'], 15],
      ['us-default', [], 10],
    ];
    for (const [name, extra, fps] of cases) {
      const result = await pool.renderInstance(make(name, extra), path.join(dir, 'out', name), settings());
      const probed = ffprobe(result.derived[0]?.file ?? '');
      assert.deepEqual([probed.frames, probed.fps, probed.width, probed.height], [frames, fps, 64, 48], name);
    }
  });

  test('an H.264 object is remuxed without re-encoding', async () => {
    const made = makeVideoInstance(dir, 'h264', VideoSyntax.H264, { width: 160, height: 120, frames: 20, fps: 30 });
    const result = await pool.renderInstance(made.file, path.join(dir, 'out', 'h264'), settings());
    const [video, poster] = result.derived;
    const probed = ffprobe(video?.file ?? '');
    assert.deepEqual(probed, { codec: 'h264', pixelFormat: 'yuv420p', width: 160, height: 120, frames: 20, fps: 30 });
    assert.deepEqual(frameHashes(video?.file ?? ''), frameHashes(made.stream, 'h264'), 'the decoded frames are those of the stream sent');
    assert.ok(existsSync(poster?.file ?? ''));
  });

  test('an MPEG-2 object is transcoded to H.264', async () => {
    const made = makeVideoInstance(dir, 'mpeg2', VideoSyntax.Mpeg2, { width: 160, height: 120, frames: 15, fps: 25 });
    const result = await pool.renderInstance(made.file, path.join(dir, 'out', 'mpeg2'), settings());
    const probed = ffprobe(result.derived[0]?.file ?? '');
    assert.deepEqual(probed, { codec: 'h264', pixelFormat: 'yuv420p', width: 160, height: 120, frames: 15, fps: 25 });
  });

  test('an HEVC object is transcoded to H.264', async () => {
    const made = makeVideoInstance(dir, 'hevc', VideoSyntax.Hevc, { width: 160, height: 120, frames: 10, fps: 25 });
    const result = await pool.renderInstance(made.file, path.join(dir, 'out', 'hevc'), settings());
    const probed = ffprobe(result.derived[0]?.file ?? '');
    assert.deepEqual(probed, { codec: 'h264', pixelFormat: 'yuv420p', width: 160, height: 120, frames: 10, fps: 25 });
  });

  test('a large native object (over 32 MB) is read a frame at a time and renders as when read whole', async () => {
    const rows = 512;
    const columns = 512;
    const frames = 70;
    const pixels = Buffer.concat(Array.from({ length: frames }, (_, f) => packGrey(greyPattern(rows, columns, 16, true, f), 16, 16)));
    const file = makeImage(dir, 'big', { photometric: 'MONOCHROME2', rows, columns, frames, bitsAllocated: 16, bitsStored: 16, signed: true, pixels, extra: ['(0028,1050) DS [0]', '(0028,1051) DS [30000]'] }).file;
    const opened = openInstance(file);
    try {
      assert.ok(opened.instance.pixelFile !== undefined, 'the pixel data stays in the file');
      assert.equal(opened.instance.elements['PixelData'], undefined);
      const streamed = frameRenderer(opened.instance);
      const whole = frameRenderer(parseInstance(readFileSync(file)));
      for (const i of [0, 33, frames - 1]) assert.deepEqual(streamed.render(i).data, whole.render(i).data, `frame ${i + 1}`);
    } finally {
      opened.close();
    }
    // An element after the pixel data: the file is read whole instead.
    const trailing = makeImage(dir, 'big-trailing', { photometric: 'MONOCHROME2', rows, columns, frames, bitsAllocated: 16, bitsStored: 16, signed: true, pixels, extra: ['(7fe1,0010) LO [ACME 1.0]'] }).file;
    const fallback = openInstance(trailing);
    assert.equal(fallback.instance.pixelFile, undefined);
    fallback.close();
  });

  test('a large RGB cine (over 32 MB) is encoded by ffmpeg straight from the file', async () => {
    const rows = 480;
    const columns = 640;
    const frames = 40;
    const pixels = Buffer.concat(Array.from({ length: frames }, (_, f) => rgbPattern(rows, columns, f)));
    const file = makeImage(dir, 'big-cine', { photometric: 'RGB', rows, columns, frames, bitsAllocated: 8, bitsStored: 8, samples: 3, pixels, extra: ['(0018,0040) IS [20]'], sopClassUid: ultrasoundMultiframeStorage, modality: 'US' }).file;
    const result = await pool.renderInstance(file, path.join(dir, 'out', 'big-cine'), settings());
    const mp4 = result.derived[0]?.file ?? '';
    assert.deepEqual(ffprobe(mp4), { codec: 'h264', pixelFormat: 'yuv420p', width: columns, height: rows, frames, fps: 20 });
    // The frames start where the pixel data does: the last frame decodes close to the pattern it was made from.
    const last = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', mp4, '-vf', `select=eq(n\\,${frames - 1})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 8 * 1024 * 1024 });
    const expected = rgbPattern(rows, columns, frames - 1);
    let sum = 0;
    for (let i = 0; i < expected.length; i++) sum += Math.abs((last[i] as number) - (expected[i] as number));
    assert.ok(sum / expected.length < 8, `mean absolute difference ${(sum / expected.length).toFixed(2)}`);
  });

  for (const [name, tool, args] of [
    ['JPEG lossless', 'dcmcjpeg', ['+e1']],
    ['RLE', 'dcmcrle', []],
  ] as const) {
    test(`${name} frames split in fragments without an offset table render as the original frames`, () => {
      const rows = 64;
      const columns = 80;
      const frames = 5;
      const pixels = Buffer.concat(Array.from({ length: frames }, (_, f) => packGrey(greyPattern(rows, columns, 12, false, f * 7), 16, 12)));
      const file = makeImage(dir, `frag-${tool}`, { photometric: 'MONOCHROME2', rows, columns, frames, bitsAllocated: 16, bitsStored: 12, pixels, extra: ['(0028,1050) DS [2048]', '(0028,1051) DS [4096]'] }).file;
      const fragmented = `${file}.${tool}.dcm`;
      // 1 KB fragments: each frame of about 10 KB spans several, and nothing says where a frame starts.
      execFileSync(tool, [...args, '+fs', '1', '-ot', file, fragmented], { stdio: 'pipe' });
      const dump = execFileSync('dcmdump', [fragmented], { encoding: 'utf8' });
      assert.ok((dump.match(/\(fffe,e000\) pi/g) ?? []).length > frames + 1, 'more fragments than frames');
      const original = frameRenderer(parseInstance(readFileSync(file)));
      const split = frameRenderer(parseInstance(readFileSync(fragmented)));
      assert.equal(split.frames, frames);
      for (let i = 0; i < frames; i++) assert.deepEqual(split.render(i).data, original.render(i).data, `frame ${i + 1}`);
    });
  }

  test('without ffmpeg a multi-frame object fails with the reason; a single frame still renders', async () => {
    const missing = await probeFfmpeg(path.join(dir, 'no-such-ffmpeg'));
    assert.equal(missing.available, false);
    const file = multiFrameGrey('ct-noff', 3, []);
    await assert.rejects(pool.renderInstance(file, path.join(dir, 'out', 'ct-noff'), { ...settings(), ffmpeg: missing }), (err: Error) => {
      assert.match(err.message, /ffmpeg is not available .*no-such-ffmpeg not found.*rendering\.ffmpegPath/);
      return true;
    });
    const single = makeImage(dir, 'single', { photometric: 'MONOCHROME2', rows: 8, columns: 8, bitsAllocated: 8, bitsStored: 8, pixels: packGrey(greyPattern(8, 8, 8, false), 8, 8) }).file;
    const result = await pool.renderInstance(single, path.join(dir, 'out', 'single'), { ...settings(), ffmpeg: missing });
    assert.equal(result.derived[0]?.kind, 'image');
  });
});
