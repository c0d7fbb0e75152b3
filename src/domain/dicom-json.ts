/**
 * The DICOM JSON model (PS3.18 F.2), the one dataset representation the gateway's parts exchange.
 * Keys are 8 upper-case hex digits (`00100010`); all text is Unicode, already decoded.
 */

/** A PN value: up to three component groups, each `Family^Given^Middle^Prefix^Suffix`. */
export interface PersonNameValue {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

export interface DicomJsonElement {
  vr: string;
  /** Absent or empty: zero length. Strings for text VRs, numbers for binary numbers, PN objects, SQ items. */
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

export type DicomJson = Record<string, DicomJsonElement>;

/** The three PN component groups, in the order of the DICOM encoding (`=`-separated). */
export const personNameGroups = ['Alphabetic', 'Ideographic', 'Phonetic'] as const;
export type PersonNameGroup = (typeof personNameGroups)[number];

/** VRs whose values are character strings (PN handled apart: its values are objects). */
const stringVrs: ReadonlySet<string> = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT',
]);
/** VRs that carry text a character set applies to (PS3.5 6.1.2.3: SH, LO, UC, ST, LT, UT and PN). */
const textVrs: ReadonlySet<string> = new Set(['SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN']);

export function isStringVr(vr: string): boolean {
  return stringVrs.has(vr);
}

/** VRs affected by (0008,0005) Specific Character Set. */
export function isCharsetTextVr(vr: string): boolean {
  return textVrs.has(vr);
}

/** `00400002` → `(0040,0002)`, the form DICOM people and logs use. */
export function formatTag(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4, 8)})`;
}

/** `(0040,0002)`, `0040,0002`, `0x00400002` or `00400002` → `00400002`; undefined when not a tag. */
export function parseTag(text: string): string | undefined {
  const hex = text.replace(/^0x/i, '').replace(/[(),\s]/g, '').toUpperCase();
  return /^[0-9A-F]{8}$/.test(hex) ? hex : undefined;
}

/** Group length elements (gggg,0000) are structure, never matching or return keys. */
export function isGroupLength(tag: string): boolean {
  return tag.endsWith('0000');
}

/** Renders one PN value as its DICOM string form `Alphabetic=Ideographic=Phonetic` (trailing `=` dropped). */
export function personNameToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return '';
  const pn = value as PersonNameValue;
  const parts = [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''];
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.join('=');
}

/** Parses `Alphabetic=Ideographic=Phonetic` (or a PN object, passed through) into a PN object. */
export function toPersonName(value: unknown): PersonNameValue {
  if (value !== null && typeof value === 'object') return value as PersonNameValue;
  if (typeof value !== 'string' || value === '') return {};
  const [a, i, p] = value.split('=');
  const out: PersonNameValue = {};
  if (a) out.Alphabetic = a;
  if (i) out.Ideographic = i;
  if (p) out.Phonetic = p;
  return out;
}

/**
 * The values of `tag` as strings: PN values in their DICOM string form, numbers as decimal strings,
 * null entries as ''. Empty array when the element is absent or has zero length. Sequences give [].
 */
export function getStrings(dataset: DicomJson | undefined, tag: string): string[] {
  const element = dataset?.[tag];
  if (element === undefined || element.Value === undefined || element.vr === 'SQ') return [];
  return element.Value.map((v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    if (element.vr === 'PN') return personNameToString(v);
    return String(v);
  });
}

/** The first value of `tag` as a string, trimmed; undefined when absent or empty. */
export function getString(dataset: DicomJson | undefined, tag: string): string | undefined {
  const first = getStrings(dataset, tag)[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/** The items of a sequence; [] when absent or empty. */
export function getItems(dataset: DicomJson | undefined, tag: string): DicomJson[] {
  const element = dataset?.[tag];
  if (element === undefined || element.Value === undefined) return [];
  return element.Value.filter((v): v is DicomJson => v !== null && typeof v === 'object');
}

/** True when the element is absent or has no non-empty value (DICOM's zero length). */
export function isEmptyElement(element: DicomJsonElement | undefined): boolean {
  if (element === undefined || element.Value === undefined || element.Value.length === 0) return true;
  if (element.vr === 'SQ') return false;
  return element.Value.every((v) => {
    if (v === null || v === undefined || v === '') return true;
    if (element.vr === 'PN' && typeof v === 'object') return personNameToString(v) === '';
    return false;
  });
}

/** Every text value (VRs affected by the character set, PN groups included), nested items included. */
export function collectTexts(dataset: DicomJson): string[] {
  const out: string[] = [];
  const visit = (ds: DicomJson): void => {
    for (const element of Object.values(ds)) {
      if (element.Value === undefined) continue;
      if (element.vr === 'SQ') {
        for (const item of element.Value) if (item !== null && typeof item === 'object') visit(item as DicomJson);
      } else if (element.vr === 'PN') {
        for (const v of element.Value) {
          const pn = toPersonName(v);
          for (const g of personNameGroups) if (pn[g]) out.push(pn[g]);
        }
      } else if (isCharsetTextVr(element.vr)) {
        for (const v of element.Value) if (typeof v === 'string' && v !== '') out.push(v);
      }
    }
  };
  visit(dataset);
  return out;
}

/** A copy of `dataset` with `fn` applied to every text value that collectTexts would list. */
export function mapTexts(dataset: DicomJson, fn: (text: string) => string): DicomJson {
  const out: DicomJson = {};
  for (const [tag, element] of Object.entries(dataset)) {
    if (element.Value === undefined) {
      out[tag] = { ...element };
    } else if (element.vr === 'SQ') {
      out[tag] = { ...element, Value: element.Value.map((item) => (item !== null && typeof item === 'object' ? mapTexts(item as DicomJson, fn) : item)) };
    } else if (element.vr === 'PN') {
      out[tag] = {
        ...element,
        Value: element.Value.map((v) => {
          if (v === null || v === undefined) return v;
          const pn = toPersonName(v);
          const mapped: PersonNameValue = {};
          for (const g of personNameGroups) if (pn[g] !== undefined) mapped[g] = fn(pn[g]);
          return mapped;
        }),
      };
    } else if (isCharsetTextVr(element.vr)) {
      out[tag] = { ...element, Value: element.Value.map((v) => (typeof v === 'string' ? fn(v) : v)) };
    } else {
      out[tag] = { ...element, Value: [...element.Value] };
    }
  }
  return out;
}

/** A deep copy (values are JSON data). */
export function cloneDicomJson(dataset: DicomJson): DicomJson {
  return structuredClone(dataset);
}
