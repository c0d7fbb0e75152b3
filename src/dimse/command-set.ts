/**
 * A small encoder of DIMSE command sets (group 0000, always implicit VR little endian, PS3.7 E.1).
 * dcmjs-dimse encodes each response's command set through dcmjs's general writer, which costs
 * more than the rest of a C-ECHO round trip together; command sets have a fixed, short list of
 * attributes, so we write them directly and leave anything unknown to the library.
 */

type Vr = 'UI' | 'US' | 'UL' | 'AE' | 'LO' | 'AT';

const commandElements: Record<string, { element: number; vr: Vr }> = {
  AffectedSOPClassUID: { element: 0x0002, vr: 'UI' },
  RequestedSOPClassUID: { element: 0x0003, vr: 'UI' },
  CommandField: { element: 0x0100, vr: 'US' },
  MessageID: { element: 0x0110, vr: 'US' },
  MessageIDBeingRespondedTo: { element: 0x0120, vr: 'US' },
  MoveDestination: { element: 0x0600, vr: 'AE' },
  Priority: { element: 0x0700, vr: 'US' },
  CommandDataSetType: { element: 0x0800, vr: 'US' },
  Status: { element: 0x0900, vr: 'US' },
  OffendingElement: { element: 0x0901, vr: 'AT' },
  ErrorComment: { element: 0x0902, vr: 'LO' },
  ErrorID: { element: 0x0903, vr: 'US' },
  AffectedSOPInstanceUID: { element: 0x1000, vr: 'UI' },
  RequestedSOPInstanceUID: { element: 0x1001, vr: 'UI' },
  EventTypeID: { element: 0x1002, vr: 'US' },
  ActionTypeID: { element: 0x1008, vr: 'US' },
  NumberOfRemainingSuboperations: { element: 0x1020, vr: 'US' },
  NumberOfCompletedSuboperations: { element: 0x1021, vr: 'US' },
  NumberOfFailedSuboperations: { element: 0x1022, vr: 'US' },
  NumberOfWarningSuboperations: { element: 0x1023, vr: 'US' },
  MoveOriginatorApplicationEntityTitle: { element: 0x1030, vr: 'AE' },
  MoveOriginatorMessageID: { element: 0x1031, vr: 'US' },
};

function encodeValue(vr: Vr, value: unknown): Buffer | undefined {
  switch (vr) {
    case 'US': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) return undefined;
      const b = Buffer.alloc(2);
      b.writeUInt16LE(value);
      return b;
    }
    case 'UL': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) return undefined;
      const b = Buffer.alloc(4);
      b.writeUInt32LE(value);
      return b;
    }
    case 'UI':
    case 'AE':
    case 'LO': {
      if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) return undefined;
      const padded = value.length % 2 === 1 ? value + (vr === 'UI' ? '\0' : ' ') : value;
      return Buffer.from(padded, 'latin1');
    }
    case 'AT': {
      const tags = Array.isArray(value) ? value : [value];
      if (tags.length === 0 || !tags.every((t) => typeof t === 'string' && /^[0-9A-Fa-f]{8}$/.test(t))) return undefined;
      const b = Buffer.alloc(4 * tags.length);
      tags.forEach((t: string, i) => {
        b.writeUInt16LE(Number.parseInt(t.slice(0, 4), 16), 4 * i);
        b.writeUInt16LE(Number.parseInt(t.slice(4, 8), 16), 4 * i + 2);
      });
      return b;
    }
    default:
      return undefined;
  }
}

/** The encoded command set with its group length, or undefined when it holds something we do not encode. */
export function encodeCommandSet(elements: Readonly<Record<string, unknown>>): Buffer | undefined {
  const encoded: { element: number; value: Buffer }[] = [];
  for (const [name, value] of Object.entries(elements)) {
    if (name === 'CommandGroupLength') continue;
    if (value === undefined || value === null || value === '') continue;
    const spec = commandElements[name];
    if (spec === undefined) return undefined;
    const bytes = encodeValue(spec.vr, value);
    if (bytes === undefined) return undefined;
    encoded.push({ element: spec.element, value: bytes });
  }
  encoded.sort((a, b) => a.element - b.element);
  const bodyLength = encoded.reduce((n, e) => n + 8 + e.value.length, 0);
  const out = Buffer.alloc(12 + bodyLength);
  // (0000,0000) CommandGroupLength UL
  out.writeUInt16LE(0x0000, 0);
  out.writeUInt16LE(0x0000, 2);
  out.writeUInt32LE(4, 4);
  out.writeUInt32LE(bodyLength, 8);
  let at = 12;
  for (const e of encoded) {
    out.writeUInt16LE(0x0000, at);
    out.writeUInt16LE(e.element, at + 2);
    out.writeUInt32LE(e.value.length, at + 4);
    e.value.copy(out, at + 8);
    at += 8 + e.value.length;
  }
  return out;
}

interface CommandLike {
  getCommandDataset(): { getElements(): Record<string, unknown>; getDenaturalizedCommandDataset(writeOptions?: Record<string, unknown>): Buffer };
}

/** Makes the library send this command's command set through `encodeCommandSet` (falls back to its own). */
export function useFastCommandEncoding<C extends CommandLike>(command: C): C {
  const dataset = command.getCommandDataset();
  const original = dataset.getDenaturalizedCommandDataset.bind(dataset);
  dataset.getDenaturalizedCommandDataset = (writeOptions) => encodeCommandSet(dataset.getElements()) ?? original(writeOptions);
  return command;
}
