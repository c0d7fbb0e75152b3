/**
 * The set headers of the German teleradiology networks' e-mail recommendation: which send a mail
 * belongs to and where it stands in it, readable before decryption (for completeness checks and
 * receipts). Only our own identifiers: never patient or study data.
 */
export const TelemedicineHeader = { SetId: 'x-telemedicine-set-id', Part: 'x-telemedicine-part', Parts: 'x-telemedicine-parts' } as const;

export interface SetPosition {
  setId: string;
  part: number;
  parts: number;
}

export function telemedicineHeaders(p: SetPosition): string[] {
  return [`X-TELEMEDICINE-SET-ID: ${p.setId}`, `X-TELEMEDICINE-PART: ${p.part}`, `X-TELEMEDICINE-PARTS: ${p.parts}`];
}

/** The set position from parsed outer headers (lower-cased names), when all three are there and sane. */
export function readSetPosition(headers: ReadonlyMap<string, string>): SetPosition | null {
  const setId = headers.get(TelemedicineHeader.SetId)?.trim() ?? '';
  const part = Number(headers.get(TelemedicineHeader.Part));
  const parts = Number(headers.get(TelemedicineHeader.Parts));
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(setId) || !Number.isInteger(part) || !Number.isInteger(parts) || part < 1 || part > parts || parts > 100_000) return null;
  return { setId, part, parts };
}
