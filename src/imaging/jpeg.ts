import sharp from 'sharp';
import type { RenderedFrame } from './render.ts';

export interface JpegOptions {
  quality: number;
  /** The longest side at most this many pixels (scaled down, never up). */
  maxSize: number;
}

/** Encodes rendered pixels as a baseline JPEG (grey stays one channel). */
export async function encodeJpeg(frame: RenderedFrame, options: JpegOptions): Promise<{ bytes: Buffer; width: number; height: number }> {
  let image = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } });
  let { width, height } = frame;
  if (Math.max(width, height) > options.maxSize) {
    const scale = options.maxSize / Math.max(width, height);
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
    image = image.resize(width, height, { fit: 'fill' });
  }
  if (frame.channels === 1) image = image.toColourspace('b-w');
  // No second Huffman pass: a few percent larger files, a quarter less time per frame.
  const bytes = await image.jpeg({ quality: options.quality, chromaSubsampling: '4:4:4', optimiseCoding: false }).toBuffer();
  return { bytes, width, height };
}
