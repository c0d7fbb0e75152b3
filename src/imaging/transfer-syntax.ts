/** How the pixel data of a transfer syntax is encoded, as far as rendering cares. */
export const PixelEncoding = {
  Native: 'native',
  NativeBigEndian: 'native-big-endian',
  Rle: 'rle',
  Jpeg: 'jpeg',
  JpegLs: 'jpeg-ls',
  Jpeg2000: 'jpeg2000',
  HtJpeg2000: 'ht-jpeg2000',
  /** H.264 in MP4 as it is: remuxed, not re-encoded. */
  H264: 'h264',
  /** MPEG-2 and HEVC: transcoded to H.264. */
  Mpeg2: 'mpeg2',
  Hevc: 'hevc',
} as const;
export type PixelEncoding = (typeof PixelEncoding)[keyof typeof PixelEncoding];

const encodings: Record<string, PixelEncoding> = {
  '1.2.840.10008.1.2': PixelEncoding.Native,
  '1.2.840.10008.1.2.1': PixelEncoding.Native,
  '1.2.840.10008.1.2.1.99': PixelEncoding.Native,
  '1.2.840.10008.1.2.2': PixelEncoding.NativeBigEndian,
  '1.2.840.10008.1.2.5': PixelEncoding.Rle,
  '1.2.840.10008.1.2.4.50': PixelEncoding.Jpeg,
  '1.2.840.10008.1.2.4.51': PixelEncoding.Jpeg,
  '1.2.840.10008.1.2.4.57': PixelEncoding.Jpeg,
  '1.2.840.10008.1.2.4.70': PixelEncoding.Jpeg,
  '1.2.840.10008.1.2.4.80': PixelEncoding.JpegLs,
  '1.2.840.10008.1.2.4.81': PixelEncoding.JpegLs,
  '1.2.840.10008.1.2.4.90': PixelEncoding.Jpeg2000,
  '1.2.840.10008.1.2.4.91': PixelEncoding.Jpeg2000,
  '1.2.840.10008.1.2.4.201': PixelEncoding.HtJpeg2000,
  '1.2.840.10008.1.2.4.202': PixelEncoding.HtJpeg2000,
  '1.2.840.10008.1.2.4.203': PixelEncoding.HtJpeg2000,
  '1.2.840.10008.1.2.4.100': PixelEncoding.Mpeg2,
  '1.2.840.10008.1.2.4.101': PixelEncoding.Mpeg2,
  '1.2.840.10008.1.2.4.102': PixelEncoding.H264,
  '1.2.840.10008.1.2.4.103': PixelEncoding.H264,
  '1.2.840.10008.1.2.4.104': PixelEncoding.H264,
  '1.2.840.10008.1.2.4.105': PixelEncoding.H264,
  '1.2.840.10008.1.2.4.106': PixelEncoding.H264,
  '1.2.840.10008.1.2.4.107': PixelEncoding.Hevc,
  '1.2.840.10008.1.2.4.108': PixelEncoding.Hevc,
};

/** The encoding of a transfer syntax, or undefined for one we cannot render. */
export function pixelEncoding(transferSyntaxUid: string): PixelEncoding | undefined {
  return encodings[transferSyntaxUid];
}

export function isVideoEncoding(encoding: PixelEncoding): boolean {
  return encoding === PixelEncoding.H264 || encoding === PixelEncoding.Mpeg2 || encoding === PixelEncoding.Hevc;
}
