/** What the file meta information (PS3.10 7.1) of a received instance says. */
export interface MetaHeaderFields {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  implementationClassUid: string;
  implementationVersionName: string;
  /** The calling AE title: (0002,0016) Source Application Entity Title. */
  sourceAeTitle: string;
}

/** One explicit VR little endian element of group 0002; UI values are padded with NUL, others with a space. */
function element(elementNumber: number, vr: string, value: Buffer): Buffer {
  const long = vr === 'OB';
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(0x0002, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

function text(value: string, pad: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from(pad, 'latin1')]);
}

/** Preamble, `DICM` and group 2, ready to precede the dataset bytes exactly as received. */
export function part10Header(fields: MetaHeaderFields): Buffer {
  const body = Buffer.concat([
    element(0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 'UI', text(fields.sopClassUid, '\0')),
    element(0x0003, 'UI', text(fields.sopInstanceUid, '\0')),
    element(0x0010, 'UI', text(fields.transferSyntaxUid, '\0')),
    element(0x0012, 'UI', text(fields.implementationClassUid, '\0')),
    element(0x0013, 'SH', text(fields.implementationVersionName.slice(0, 16), ' ')),
    ...(fields.sourceAeTitle === '' ? [] : [element(0x0016, 'AE', text(fields.sourceAeTitle.slice(0, 16), ' '))]),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0000, 'UL', groupLength), body]);
}
