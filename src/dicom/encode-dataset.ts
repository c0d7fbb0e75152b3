import dcmjs from 'dcmjs';
import { encodeText } from '../domain/charset.ts';
import type { CharacterSet } from '../domain/device.ts';
import type { DicomJson } from '../domain/dicom-json.ts';

const { DicomMessage, WriteBufferStream } = dcmjs.data;
const explicitBigEndian = '1.2.840.10008.1.2.2';

type Encoder = { encode(text: string): Uint8Array };
type StreamProto = { writeUTF8String(this: { encoder: Encoder }, value: string): number };

/**
 * dcmjs encodes all text as UTF-8, whatever (0008,0005) says, and writes each element through a
 * stream of its own, so an encoder set on our stream does not reach them. While `encodeDataset` runs
 * (synchronously), text goes through the character set it was asked for instead.
 */
let activeEncoder: Encoder | undefined;
const streamProto = Object.getPrototypeOf(WriteBufferStream.prototype) as StreamProto;
const utf8Write = streamProto.writeUTF8String;
streamProto.writeUTF8String = function (value: string): number {
  if (activeEncoder === undefined) return utf8Write.call(this, value);
  const saved = this.encoder;
  this.encoder = activeEncoder;
  try {
    return utf8Write.call(this, value);
  } finally {
    this.encoder = saved;
  }
};

/** dcmjs wants `Value: []` for a zero-length element, where the JSON model may leave `Value` out. */
function withValues(dataset: DicomJson): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [tag, element] of Object.entries(dataset)) {
    const value = element.Value ?? [];
    out[tag] = { vr: element.vr, Value: element.vr === 'SQ' ? value.map((item) => withValues(item as DicomJson)) : value };
  }
  return out;
}

/**
 * A dataset (DICOM JSON model) as bytes in a transfer syntax, its text in `charset` (which the
 * caller names in the dataset's (0008,0005)).
 */
export function encodeDataset(dataset: DicomJson, transferSyntaxUid: string, charset: CharacterSet): Buffer {
  const stream = new WriteBufferStream(4096, transferSyntaxUid !== explicitBigEndian);
  // A fresh array: dcmjs copies from `.buffer` and ignores the offset of a pooled Buffer.
  activeEncoder = { encode: (text: string) => new Uint8Array(encodeText(text, charset)) };
  try {
    DicomMessage.write(withValues(dataset), stream, transferSyntaxUid, {});
  } finally {
    activeEncoder = undefined;
  }
  return Buffer.from(stream.getBuffer(0, stream.size));
}
