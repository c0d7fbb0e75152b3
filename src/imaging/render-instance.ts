import { DerivedFileKind, type DerivedFile } from '../domain/derived-file.ts';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { bytesOf, openInstance, text, type ParsedInstance } from './dataset.ts';
import type { FfmpegStatus } from './ffmpeg.ts';
import { frameRate } from './frame-rate.ts';
import { framesOfValue } from './frames.ts';
import { encodeJpeg, type JpegOptions } from './jpeg.ts';
import { Photometric, readPixelModule } from './pixel-module.ts';
import { frameRenderer, modalityOf, type RenderedFrame } from './render.ts';
import { isVideoEncoding, pixelEncoding, PixelEncoding } from './transfer-syntax.ts';
import { encodeFileFrames, encodeFrames, firstFrame, videoToMp4, type VideoSettings } from './video.ts';


/** A file made from an instance. `file` is absolute here; the job makes it relative to the data directory. */
export type DerivedOutput = Omit<DerivedFile, 'path'> & { file: string };

export interface InstanceRendering {
  derived: DerivedOutput[];
  /** Why nothing was made (structured reports, waveforms, ...). */
  skipped?: string;
}

export interface RenderSettings {
  jpeg: JpegOptions;
  video: VideoSettings;
  defaultFps: number;
  /** Window center/width by modality, for images that carry neither a window nor a VOI LUT. */
  windowPresets: Record<string, { center: number; width: number }>;
  ffmpeg: FfmpegStatus;
}

// File work here is synchronous on purpose: this runs in a render thread, and the asynchronous fs
// calls would queue on libuv's process-wide thread pool, where the archive's fsyncs wait their turn
// (measured: a 1,000-instance import took twice as long with rendering until this was so).

/** Writes next to the target, then renames: a reader never sees half a file. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  const part = `${file}.part`;
  writeFileSync(part, bytes);
  renameSync(part, file);
}

function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function jpegOutput(kind: DerivedFileKind, frame: RenderedFrame, file: string, options: JpegOptions): Promise<DerivedOutput> {
  const jpeg = await encodeJpeg(frame, options);
  writeAtomically(file, jpeg.bytes);
  return { kind, file, mediaType: 'image/jpeg', bytes: jpeg.bytes.byteLength, sha256: sha256(jpeg.bytes), width: jpeg.width, height: jpeg.height, frames: 1, fps: null };
}

function requireFfmpeg(settings: RenderSettings): void {
  if (!settings.ffmpeg.available) {
    throw new GatewayError(ErrorCode.Unavailable, `ffmpeg is not available (${settings.ffmpeg.reason}): multi-frame and video objects cannot be made into MP4; install the Debian package ffmpeg or set rendering.ffmpegPath`);
  }
}

function videoOutput(file: string, width: number, height: number, frames: number, fps: number): DerivedOutput {
  const { size } = statSync(file);
  return { kind: DerivedFileKind.Video, file, mediaType: 'video/mp4', bytes: size, sha256: sha256OfFile(file), width: width + (width % 2), height: height + (height % 2), frames, fps: Math.round(fps * 1000) / 1000 };
}

/**
 * Renders one stored instance into `outBase` + `.jpg` (one frame), `.mp4` + `.poster.jpg` (several
 * frames or a video syntax) or `.pdf` (encapsulated PDF). Other objects are skipped with the reason.
 */
export async function renderInstance(archiveFile: string, outBase: string, settings: RenderSettings, signal?: AbortSignal): Promise<InstanceRendering> {
  let opened;
  try {
    opened = openInstance(archiveFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw err;
    throw new GatewayError(ErrorCode.Unreadable, `the stored instance cannot be parsed: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await render(archiveFile, opened.instance, outBase, settings, signal);
  } finally {
    opened.close();
  }
}

async function render(archiveFile: string, instance: ParsedInstance, outBase: string, settings: RenderSettings, signal: AbortSignal | undefined): Promise<InstanceRendering> {
  const { elements } = instance;
  mkdirSync(path.dirname(outBase), { recursive: true });

  if (elements['PixelData'] === undefined && instance.pixelFile === undefined) {
    const mime = text(elements['MIMETypeOfEncapsulatedDocument']).toLowerCase();
    const document = bytesOf(elements['EncapsulatedDocument']);
    if (mime === 'application/pdf' && document !== undefined) {
      // The value is padded to even length; a PDF ends at its last %%EOF.
      let end = document.byteLength;
      while (end > 0 && document[end - 1] === 0) end -= 1;
      const pdf = document.subarray(0, end);
      const file = `${outBase}.pdf`;
      writeAtomically(file, pdf);
      return { derived: [{ kind: DerivedFileKind.Document, file, mediaType: 'application/pdf', bytes: pdf.byteLength, sha256: sha256(pdf), width: null, height: null, frames: null, fps: null }] };
    }
    if (mime !== '') return { derived: [], skipped: `encapsulated ${mime} document: only PDF is extracted` };
    if (elements['FloatPixelData'] !== undefined || elements['DoubleFloatPixelData'] !== undefined) return { derived: [], skipped: 'float pixel data is not rendered' };
    return { derived: [], skipped: `no pixel data (SOP class ${text(elements['SOPClassUID']) || 'unknown'})` };
  }

  const encoding = pixelEncoding(instance.transferSyntaxUid);
  const fps = frameRate(elements, settings.defaultFps);
  if (encoding !== undefined && isVideoEncoding(encoding)) {
    requireFfmpeg(settings);
    const m = readPixelModule({ ...elements, PhotometricInterpretation: text(elements['PhotometricInterpretation']) || 'YBR_PARTIAL_420' });
    const [stream] = framesOfValue(elements['PixelData'], { ...m, frames: 1 }, encoding);
    const video = `${outBase}.mp4`;
    const part = `${video}.part`;
    const kind = encoding === PixelEncoding.H264 ? 'h264' : encoding === PixelEncoding.Mpeg2 ? 'mpegvideo' : 'hevc';
    try {
      await videoToMp4(stream as Uint8Array, kind, fps, part, settings.video, signal);
      renameSync(part, video);
    } catch (err) {
      rmSync(part, { force: true });
      throw new GatewayError(ErrorCode.Unreadable, `the ${encoding} video cannot be made into MP4: ${(err as Error).message}`, { cause: err });
    }
    const poster = await firstFrame(video, m.columns, m.rows, settings.video.ffmpegPath);
    return { derived: [videoOutput(video, m.columns, m.rows, m.frames, fps), await jpegOutput(DerivedFileKind.Poster, poster, `${outBase}.poster.jpg`, settings.jpeg)] };
  }

  const renderer = frameRenderer(instance, { windowPreset: settings.windowPresets[modalityOf(elements)] });
  if (renderer.frames === 1) return { derived: [await jpegOutput(DerivedFileKind.Image, renderer.render(0), `${outBase}.jpg`, settings.jpeg)] };

  requireFfmpeg(settings);
  const m = renderer.module;
  const first = renderer.render(0);
  const video = `${outBase}.mp4`;
  const part = `${video}.part`;
  try {
    const raw = instance.pixelFile;
    if (raw !== undefined && renderer.encoding === PixelEncoding.Native && m.photometric === Photometric.Rgb && m.bitsAllocated === 8 && !m.planar) {
      // A large RGB cine's frames are already what ffmpeg wants: it reads them from the file itself.
      await encodeFileFrames({ file: archiveFile, offset: raw.offset, count: renderer.frames, width: m.columns, height: m.rows }, fps, part, settings.video, signal);
    } else {
      await encodeFrames({ count: renderer.frames, width: m.columns, height: m.rows, channels: first.channels, render: (i) => (i === 0 ? first : renderer.render(i)) }, fps, part, settings.video, signal);
    }
    renameSync(part, video);
  } catch (err) {
    rmSync(part, { force: true });
    throw err;
  }
  return { derived: [videoOutput(video, m.columns, m.rows, renderer.frames, fps), await jpegOutput(DerivedFileKind.Poster, first, `${outBase}.poster.jpg`, settings.jpeg)] };
}

/** Renders frames `from` to `to` (exclusive) of an instance to `<outDir>/<n>.jpg`; returns how many (the benchmark's per-frame path). */
export async function renderFramesToJpeg(archiveFile: string, outDir: string, range: { from: number; to: number }, settings: Pick<RenderSettings, 'jpeg' | 'windowPresets'>): Promise<number> {
  const opened = openInstance(archiveFile);
  try {
    const renderer = frameRenderer(opened.instance, { windowPreset: settings.windowPresets[modalityOf(opened.instance.elements)] });
    mkdirSync(outDir, { recursive: true });
    const to = Math.min(range.to, renderer.frames);
    for (let i = range.from; i < to; i++) writeFileSync(path.join(outDir, `${i + 1}.jpg`), (await encodeJpeg(renderer.render(i), settings.jpeg)).bytes);
    return Math.max(0, to - range.from);
  } finally {
    opened.close();
  }
}
