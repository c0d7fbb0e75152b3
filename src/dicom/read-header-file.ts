import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import dcmjs from 'dcmjs';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

function readPrefix(fd: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, 0);
  return buffer.subarray(0, read);
}

/**
 * The attributes of a stored Part 10 file up to its pixel data, naturalized (keywords, text decoded),
 * read synchronously from a 64 KB prefix that grows when the header is longer: a multi-GB cine costs
 * what its header costs. Throws when the file is missing or not DICOM.
 */
export function readHeaderFile(file: string): Record<string, unknown> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let length = Math.min(size, 64 * 1024);
    for (;;) {
      const bytes = readPrefix(fd, length);
      try {
        const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        return DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(ab, { untilTag: '7FE00010', includeUntilTagValue: false }).dict) as Record<string, unknown>;
      } catch (err) {
        if (length >= size) throw err;
        length = Math.min(size, length * 4);
      }
    }
  } finally {
    closeSync(fd);
  }
}
