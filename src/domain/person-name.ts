/** A DICOM person name (PN) in its five components: `Family^Given^Middle^Prefix^Suffix`. */
export interface PersonName {
  family: string;
  given: string;
  middle: string;
  prefix: string;
  suffix: string;
}

export const emptyPersonName: PersonName = { family: '', given: '', middle: '', prefix: '', suffix: '' };

/** Reads the alphabetic group of a PN value (`Müller^Jürgen` or `Müller^Jürgen=...`). */
export function parsePersonName(value: string): PersonName {
  const alphabetic = value.split('=')[0] ?? '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alphabetic.split('^').map((s) => s.trim());
  return { family, given, middle, prefix, suffix };
}

/** Writes a PN value, dropping empty trailing components as PS3.5 6.2.1 asks. */
export function formatPersonName(name: PersonName): string {
  const parts = [name.family, name.given, name.middle, name.prefix, name.suffix];
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts.join('^');
}
