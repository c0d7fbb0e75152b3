import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { feed, runFfmpeg } from './ffmpeg.ts';
import type { RenderedFrame } from './render.ts';

export interface VideoSettings {
  ffmpegPath: string;
  /** libx264 preset and constant rate factor. */
  preset: string;
  crf: number;
}

/** The H.264 output every video gets: yuv420p, even dimensions, moov atom first for streaming. */
function h264Output(settings: VideoSettings, out: string): string[] {
  return ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', settings.preset, '-crf', String(settings.crf), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', '-y', out];
}

/**
 * Encodes frames to MP4. Frames are rendered one at a time as ffmpeg takes them: a write waits for
 * the pipe to drain, so a 1,000-frame cine never sits in memory whole.
 */
export async function encodeFrames(frames: { count: number; width: number; height: number; channels: 1 | 3; render(i: number): RenderedFrame }, fps: number, out: string, settings: VideoSettings, signal?: AbortSignal): Promise<void> {
  const run = runFfmpeg(
    settings.ffmpegPath,
    ['-f', 'rawvideo', '-pix_fmt', frames.channels === 1 ? 'gray' : 'rgb24', '-s', `${frames.width}x${frames.height}`, '-framerate', fps.toFixed(6), '-i', 'pipe:0', ...h264Output(settings, out)],
    signal,
  );
  // Frame i+1 is rendered while frame i drains into the pipe: at most two frames in memory.
  await feed(
    run,
    (function* () {
      for (let i = 0; i < frames.count; i++) yield frames.render(i).data;
    })(),
  );
}

/** Encodes RGB frames that lie in a file one after another from `offset` (native pixel data), read by ffmpeg itself. */
export async function encodeFileFrames(source: { file: string; offset: number; count: number; width: number; height: number }, fps: number, out: string, settings: VideoSettings, signal?: AbortSignal): Promise<void> {
  const run = runFfmpeg(
    settings.ffmpegPath,
    ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${source.width}x${source.height}`, '-framerate', fps.toFixed(6), '-skip_initial_bytes', String(source.offset), '-i', source.file, '-frames:v', String(source.count), ...h264Output(settings, out)],
    signal,
  );
  run.stdin.end();
  await run.done;
}

/** Elementary video streams of the DICOM video syntaxes, as ffmpeg's raw demuxers name them. */
export type VideoStream = 'h264' | 'mpegvideo' | 'hevc';

/**
 * Puts an encapsulated video stream into MP4: H.264 is copied as it is (no re-encoding, no loss);
 * MPEG-2 and HEVC are transcoded to H.264 so that every browser plays the result.
 */
export async function videoToMp4(stream: Uint8Array, kind: VideoStream, fps: number, out: string, settings: VideoSettings, signal?: AbortSignal): Promise<void> {
  // A raw H.264 stream carries no timestamps: ffmpeg gives packets pts = dts, which puts the first
  // frames of a stream with B-frames before zero, and MP4's edit list would then hide them. Shifting
  // to zero keeps every frame (the decoder restores their order itself; tested frame by frame).
  const output = kind === 'h264' ? ['-c:v', 'copy', '-avoid_negative_ts', 'make_zero', '-movflags', '+faststart', '-f', 'mp4', '-y', out] : h264Output(settings, out);
  const run = runFfmpeg(settings.ffmpegPath, ['-framerate', fps.toFixed(6), '-f', kind, '-i', 'pipe:0', ...output], signal);
  const chunk = 1024 * 1024;
  await feed(
    run,
    (function* () {
      for (let offset = 0; offset < stream.byteLength; offset += chunk) yield stream.subarray(offset, offset + chunk);
    })(),
  );
}

/** The first frame of a video file as RGB pixels (for its poster). */
export async function firstFrame(file: string, width: number, height: number, ffmpegPath: string): Promise<RenderedFrame> {
  const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-i', file, '-frames:v', '1', '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const data = Buffer.concat(chunks);
  if (code !== 0 || data.byteLength < width * height * 3) throw new Error(`ffmpeg could not read the first frame: ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return { width, height, channels: 3, data: data.subarray(0, width * height * 3) };
}
