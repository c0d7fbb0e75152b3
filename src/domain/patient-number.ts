import { RE2JS } from 're2js';
import { foldText } from './transliteration.ts';

/**
 * Finding the PVS patient in what a modality sent. Patterns come from the site's config and run on
 * values typed at a modality, so they run in RE2 (re2js, pure JS): matching time is linear in the
 * value whatever the pattern, and a pattern such as `(a+)+$` cannot hang the gateway.
 */

/** Longer values match nothing (DICOM LO holds 64 characters); cutting them would change what matches. */
export const maxMatchedLength = 65_536;

/** A compiled site pattern; `groups` is its number of capture groups. */
export interface SitePattern {
  source: string;
  groups: number;
  /** The capture groups of the first match in `value` ('' for a group that took no part), or undefined. */
  match(value: string): string[] | undefined;
}

export type PatternCheck = { ok: true; pattern: SitePattern } | { ok: false; message: string; hint: string };

/** Compiles a pattern in RE2 syntax and checks its number of capture groups. Never throws. */
export function compileSitePattern(source: string, groups: number): PatternCheck {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (err) {
    return {
      ok: false,
      message: `not a valid pattern: ${(err as Error).message}`,
      hint: 'RE2 syntax: no look-around and no back-references; e.g. ([0-9]+)',
    };
  }
  if (compiled.groupCount() !== groups) {
    return {
      ok: false,
      message: `the pattern has ${compiled.groupCount()} capture group(s); it needs exactly ${groups}`,
      hint: groups === 1 ? 'one group around the number, e.g. ^PVS-([0-9]+)$; use (?:...) for other groups' : `${groups} groups, in the order the \`order\` setting names; use (?:...) for other groups`,
    };
  }
  return {
    ok: true,
    pattern: {
      source,
      groups,
      match(value) {
        if (value.length > maxMatchedLength) return undefined;
        const m = compiled.matcher(value);
        if (!m.find()) return undefined;
        const out: string[] = [];
        for (let i = 1; i <= groups; i++) out.push(m.group(i) ?? '');
        return out;
      },
    },
  };
}

/**
 * The patient numbers the pattern finds in the values (one attribute may hold several, e.g. Other
 * Patient IDs), trimmed, without empties and duplicates, in the order found.
 */
export function extractPatientNumbers(pattern: SitePattern, values: readonly string[]): string[] {
  const found: string[] = [];
  for (const value of values) {
    const number = pattern.match(value)?.[0]?.trim();
    if (number !== undefined && number !== '' && !found.includes(number)) found.push(number);
  }
  return found;
}

/** The letters of the VNYMD order: Vorname (first name), Nachname (surname), year, month, day. */
export type VnymdLetter = 'V' | 'N' | 'Y' | 'M' | 'D';

/** Whether `order` names each of V, N, Y, M, D once, e.g. `VNYMD` or `NVDMY`. */
export function isVnymdOrder(order: string): boolean {
  return order.length === 5 && [...'VNYMD'].every((letter) => order.includes(letter));
}

export interface NameAndBirthDate {
  firstName: string;
  surname: string;
  /** Four digits, or two when the value gave only two (the century is then unknown). */
  year: string;
  /** Two digits. */
  month: string;
  day: string;
}

/**
 * Reads first name, surname and birth date from a value with a five-group pattern whose groups come
 * in the order `order` names. Undefined when the pattern does not match or the date is no date.
 */
export function parseVnymd(pattern: SitePattern, order: string, value: string): NameAndBirthDate | undefined {
  const groups = pattern.match(value);
  if (groups === undefined) return undefined;
  const get = (letter: VnymdLetter): string => (groups[order.indexOf(letter)] ?? '').trim();
  const year = get('Y');
  const month = get('M').padStart(2, '0');
  const day = get('D').padStart(2, '0');
  const firstName = get('V');
  const surname = get('N');
  if (firstName === '' || surname === '') return undefined;
  if (!/^([0-9]{2}|[0-9]{4})$/.test(year) || !/^[0-9]{2}$/.test(month) || !/^[0-9]{2}$/.test(day)) return undefined;
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > 31) return undefined;
  return { firstName, surname, year, month, day };
}

/**
 * The form names are compared in: case, accents, umlaut spellings (`ue` for `ü`), `ß`, spaces,
 * hyphens and other punctuation do not count, so `Müller-Lüdenscheidt`, `MUELLER LUEDENSCHEIDT` and
 * `muller ludenscheidt` are the same name.
 */
export function nameKey(name: string): string {
  return foldText(name, { ignoreCase: true, ignoreAccents: true, foldDigraphs: true }).replace(/[^\p{L}\p{N}]/gu, '');
}

export interface RegistryPerson {
  /** The PN components as the registry holds them. */
  family: string;
  given: string;
  /** DA (YYYYMMDD) or ''. */
  birthDate: string;
}

/**
 * Whether a registry person is the one a VNYMD value names: the same birth date (with a two-digit
 * year, the same last two digits) and the same surname and first name by `nameKey`; a first name
 * also matches the registry's first given name alone (`Hans` finds `Hans Peter`).
 */
export function isSamePerson(wanted: NameAndBirthDate, person: RegistryPerson): boolean {
  const date = `${wanted.month}${wanted.day}`;
  if (person.birthDate.length !== 8 || person.birthDate.slice(4) !== date) return false;
  if (wanted.year.length === 4 ? person.birthDate.slice(0, 4) !== wanted.year : person.birthDate.slice(2, 4) !== wanted.year) return false;
  if (nameKey(person.family) !== nameKey(wanted.surname)) return false;
  const want = nameKey(wanted.firstName);
  return nameKey(person.given) === want || nameKey(person.given.split(/[\s-]+/)[0] ?? '') === want;
}
