import { open } from 'node:fs/promises';
import path from 'node:path';
import { readRange } from './mime-file.ts';
import { telemedicineHeaders, type SetPosition } from './telemedicine-headers.ts';

const crlf = '\r\n';
/** Room for a fragment's own header block. */
const headerRoom = 2048;
/** RFC 5322 caps lines at 998 characters: a cut point is always within this of any position. */
const maxLine = 1000;

export interface FragmentRequest {
  /** The whole mail as built (headers and body, CRLF, 7-bit: base64 or ASCII armor). */
  mailPath: string;
  /** Each fragment's size at most (headers included). */
  limit: number;
  /** The id of the set of fragments (RFC 2046 5.2.2): unique to this built mail. */
  partialId: string;
  from: string;
  to: string;
  /** `local@domain` of the whole mail; fragments get `local.fN@domain`. */
  messageId: string;
  date: Date;
  set: SetPosition;
  outDir: string;
}

/** The byte offsets where fragments end: each after a CRLF, each body at most `bodyMax` bytes. */
async function cutPoints(mailPath: string, bodyMax: number): Promise<number[]> {
  const handle = await open(mailPath, 'r');
  try {
    const size = (await handle.stat()).size;
    const cuts: number[] = [];
    for (let start = 0; start < size; ) {
      if (size - start <= bodyMax) {
        cuts.push(size);
        break;
      }
      const window = Buffer.alloc(maxLine);
      const from = start + bodyMax - maxLine;
      const { bytesRead } = await handle.read(window, 0, maxLine, from);
      const lf = window.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (lf === -1) throw new Error('a line of the mail is longer than 998 characters; it cannot be split at line ends');
      start = from + lf + 1;
      cuts.push(start);
    }
    return cuts;
  } finally {
    await handle.close();
  }
}

/**
 * Splits a built mail into message/partial fragments (RFC 2046 5.2.2): the first carries the whole
 * mail's headers at the start of its body, each is cut at a line end so that every fragment stays
 * 7-bit text, and each names the set (id), its number and the total, plus the X-TELEMEDICINE set
 * headers. Concatenating the bodies in order gives back the mail byte for byte. Returns the files.
 */
export async function writeFragments(req: FragmentRequest): Promise<string[]> {
  if (req.limit < headerRoom + 4 * maxLine) throw new Error(`a fragment limit of ${req.limit} bytes is too small`);
  const cuts = await cutPoints(req.mailPath, req.limit - headerRoom);
  const total = cuts.length;
  const [local, domain] = req.messageId.split('@') as [string, string];
  const mail = await open(req.mailPath, 'r');
  const files: string[] = [];
  try {
    let start = 0;
    for (const [i, end] of cuts.entries()) {
      const number = i + 1;
      const file = path.join(req.outDir, `fragment-${number}.eml`);
      const out = await open(file, 'w');
      try {
        const head = [
          `From: <${req.from}>`,
          `To: <${req.to}>`,
          `Subject: DICOM ${req.set.part}/${req.set.parts} (fragment ${number}/${total})`,
          `Date: ${req.date.toUTCString().replace('GMT', '+0000')}`,
          `Message-ID: <${local}.f${number}@${domain}>`,
          ...telemedicineHeaders(req.set),
          'MIME-Version: 1.0',
          `Content-Type: message/partial; id="${req.partialId}"; number=${number}; total=${total}`,
          '',
          '',
        ].join(crlf);
        await out.write(head);
        for await (const chunk of readRange(mail, { start, end })) await out.write(chunk);
        await out.sync();
      } finally {
        await out.close();
      }
      files.push(file);
      start = end;
    }
  } finally {
    await mail.close();
  }
  return files;
}
