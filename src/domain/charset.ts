/**
 * DICOM Specific Character Set (0008,0005), PS3.5 6.1 and Annex K: encoding the text of our answers,
 * decoding text received, and choosing the character set each answer goes out in.
 *
 * We answer in ISO_IR 100 (Latin-1: German umlauts and ß), ISO_IR 192 (UTF-8) or, for devices
 * configured so, the default repertoire (ASCII). dcmjs writes UTF-8 whatever (0008,0005) says, so the
 * DICOM edge encodes text values itself with `encodeText`.
 */
import { collectTexts, mapTexts, type DicomJson } from './dicom-json.ts';
import { CharacterSet } from './device.ts';
import { ErrorCode, GatewayError } from './errors.ts';
import { Tag } from './mwl-attributes.ts';
import { isAscii, isLatin1, transliterate } from './transliteration.ts';

/** What to do with a name the device's character set cannot hold. */
export const UnmappablePolicy = {
  /** Spell it in the device's character set (`Łukasz` → `Lukasz`); UTF-8 only when that fails. */
  Transliterate: 'transliterate',
  /** Answer that one response in ISO_IR 192 (UTF-8). */
  Utf8: 'utf8',
} as const;
export type UnmappablePolicy = (typeof UnmappablePolicy)[keyof typeof UnmappablePolicy];

/**
 * A defined term as compared: case, spaces, `_` and `-` do not count, so the misspellings devices
 * send (`ISO_IR100`, `ISO-IR 100`, `iso_ir 100`) are understood.
 */
function termKey(term: string): string {
  return term.toUpperCase().replace(/[\s_-]/g, '');
}

/** The values of (0008,0005), trimmed; value 1 may be empty (default repertoire). */
export function parseCharsetTerms(value: string | readonly (string | null | undefined)[] | undefined): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? value.split('\\') : value.map((v) => v ?? '');
  const terms = list.map((t) => t.trim());
  while (terms.length > 0 && terms[terms.length - 1] === '') terms.pop();
  return terms;
}

/** Single-byte character sets without code extensions, term key → decoder. */
const singleByte: Readonly<Record<string, string>> = {
  ISOIR6: 'ascii',
  ISOIR100: 'latin1',
  ISOIR101: 'iso-8859-2',
  ISOIR109: 'iso-8859-3',
  ISOIR110: 'iso-8859-4',
  ISOIR144: 'iso-8859-5',
  ISOIR127: 'iso-8859-6',
  ISOIR126: 'iso-8859-7',
  ISOIR138: 'iso-8859-8',
  ISOIR148: 'iso-8859-9',
  ISOIR203: 'iso-8859-15',
  ISOIR166: 'windows-874',
  ISOIR13: 'shift_jis',
  ISOIR192: 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/** ISO 2022 escape sequences (after ESC) → what they designate. */
const escapes: Readonly<Record<string, { g: 0 | 1; decoder: string }>> = {
  '(B': { g: 0, decoder: 'ascii' },
  '(J': { g: 0, decoder: 'ascii' }, // JIS X 0201 Romaji: ASCII but for ¥ and ‾
  '$B': { g: 0, decoder: 'jisx0208' },
  '$@': { g: 0, decoder: 'jisx0208' },
  ')I': { g: 1, decoder: 'jisx0201kana' },
  '-A': { g: 1, decoder: 'latin1' },
  '-B': { g: 1, decoder: 'iso-8859-2' },
  '-C': { g: 1, decoder: 'iso-8859-3' },
  '-D': { g: 1, decoder: 'iso-8859-4' },
  '-L': { g: 1, decoder: 'iso-8859-5' },
  '-G': { g: 1, decoder: 'iso-8859-6' },
  '-F': { g: 1, decoder: 'iso-8859-7' },
  '-H': { g: 1, decoder: 'iso-8859-8' },
  '-M': { g: 1, decoder: 'iso-8859-9' },
  '-T': { g: 1, decoder: 'windows-874' },
  '-b': { g: 1, decoder: 'iso-8859-15' },
  '$)C': { g: 1, decoder: 'euc-kr' },
  '$)A': { g: 1, decoder: 'gb18030' },
};

/** ISO 2022 term key → the G1 set it designates initially. */
const iso2022Initial: Readonly<Record<string, string | undefined>> = {
  ISO2022IR6: undefined,
  ISO2022IR100: 'latin1',
  ISO2022IR101: 'iso-8859-2',
  ISO2022IR109: 'iso-8859-3',
  ISO2022IR110: 'iso-8859-4',
  ISO2022IR144: 'iso-8859-5',
  ISO2022IR127: 'iso-8859-6',
  ISO2022IR126: 'iso-8859-7',
  ISO2022IR138: 'iso-8859-8',
  ISO2022IR148: 'iso-8859-9',
  ISO2022IR203: 'iso-8859-15',
  ISO2022IR166: 'windows-874',
  ISO2022IR13: 'jisx0201kana',
  ISO2022IR87: undefined,
  ISO2022IR159: undefined,
  ISO2022IR149: 'euc-kr',
  ISO2022IR58: 'gb18030',
};

const decoders = new Map<string, InstanceType<typeof TextDecoder>>();

function decodeRun(decoder: string, bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  if (decoder === 'latin1' || decoder === 'ascii') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (decoder === 'jisx0208') {
    const framed = new Uint8Array(bytes.length + 6);
    framed.set([0x1b, 0x24, 0x42]);
    framed.set(bytes, 3);
    framed.set([0x1b, 0x28, 0x42], bytes.length + 3);
    return decodeWith('iso-2022-jp', framed);
  }
  if (decoder === 'jisx0201kana') return decodeWith('shift_jis', bytes);
  return decodeWith(decoder, bytes);
}

function decodeWith(label: string, bytes: Uint8Array): string {
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    decoder = new TextDecoder(label);
    decoders.set(label, decoder);
  }
  return decoder.decode(bytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function unsupported(term: string): GatewayError {
  return new GatewayError(ErrorCode.Invalid, `character set "${term}" is not supported`, {
    issues: [{ path: '(0008,0005)', message: `unsupported Specific Character Set "${term}"` }],
  });
}

/**
 * Decodes a text value received in the character set (0008,0005) names.
 * - No value or ISO_IR 6: bytes above 0x7F, which ASCII does not have, are read as Latin-1: devices
 *   that send umlauts without declaring a character set are common, and Latin-1 never fails.
 * - ISO_IR 192: UTF-8; bytes that are not valid UTF-8 are read as Latin-1 rather than replaced.
 * - Other single-byte sets (ISO_IR 101, 144, ...), GB18030, GBK, and ISO 2022 with escape
 *   sequences (Latin sets, Japanese JIS X 0201/0208, Korean KS X 1001, Chinese GB 2312).
 * @throws GatewayError (code `invalid`) for a character set we do not know.
 */
export function decodeText(bytes: Uint8Array, charsetTerms?: string | readonly (string | null | undefined)[]): string {
  const terms = parseCharsetTerms(charsetTerms);
  const first = terms[0] ?? '';
  const key = termKey(first);
  if (terms.length <= 1 && !key.startsWith('ISO2022')) {
    if (key === '' || key === 'ISOIR6' || key === 'ISOIR100') return decodeRun('latin1', bytes);
    if (key === 'ISOIR192') {
      try {
        return strictUtf8.decode(bytes);
      } catch {
        return decodeRun('latin1', bytes);
      }
    }
    const label = singleByte[key];
    if (label === undefined) throw unsupported(first);
    return decodeRun(label, bytes);
  }
  // code extensions: value 1 is active at the start of the value and after each delimiter
  for (const term of terms) {
    const k = termKey(term);
    if (k !== '' && !(k in iso2022Initial) && !(k in singleByte)) throw unsupported(term);
  }
  const initialG1 = key === '' ? undefined : (iso2022Initial[key] ?? singleByte[key]);
  let g0 = 'ascii';
  let g1 = initialG1;
  let out = '';
  let run: number[] = [];
  let runDecoder = 'ascii';
  const flush = (): void => {
    out += decodeRun(runDecoder, Uint8Array.from(run));
    run = [];
  };
  const push = (decoder: string, byte: number): void => {
    if (decoder !== runDecoder) {
      flush();
      runDecoder = decoder;
    }
    run.push(byte);
  };
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x1b) {
      const three = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0, bytes[i + 3] ?? 0);
      const seq = escapes[three] !== undefined ? three : three.slice(0, 2);
      const designation = escapes[seq];
      if (designation !== undefined) {
        if (designation.g === 0) g0 = designation.decoder;
        else g1 = designation.decoder;
        i += seq.length;
        continue;
      }
    }
    if (byte < 0x80) {
      if (g0 !== 'jisx0208' && (byte === 0x5c || byte === 0x3d || byte === 0x5e || byte === 0x0d || byte === 0x0a || byte === 0x09 || byte === 0x0c)) {
        g0 = 'ascii';
        g1 = initialG1;
      }
      push(g0, byte);
    } else {
      push(g1 ?? 'latin1', byte);
    }
  }
  flush();
  return out;
}

/** The canonical defined term for one of the character sets we answer in, or undefined. */
function answerCharsetOf(term: string): CharacterSet | undefined {
  const key = termKey(term);
  if (key === 'ISOIR192') return CharacterSet.Utf8;
  if (key === 'ISOIR100' || key === 'ISO2022IR100') return CharacterSet.Latin1;
  if (key === '' || key === 'ISOIR6' || key === 'ISO2022IR6') return CharacterSet.Ascii;
  return undefined;
}

/**
 * Encodes a text value for an answer in `charset` (one of ours: ISO_IR 6, ISO_IR 100, ISO_IR 192;
 * misspellings are understood as in `decodeText`). Never garbles: a character the set cannot hold
 * throws (transliterate first, see `chooseAnswerCharset`).
 * @throws GatewayError (code `invalid`) for an unrepresentable character or an unsupported set.
 */
export function encodeText(text: string, charset: CharacterSet | string): Buffer {
  const set = answerCharsetOf(charset);
  if (set === CharacterSet.Utf8) return Buffer.from(text, 'utf8');
  if (set === undefined) throw unsupported(charset);
  const limit = set === CharacterSet.Latin1 ? 0xff : 0x7f;
  const normalized = (set === CharacterSet.Latin1 ? isLatin1(text) : isAscii(text)) ? text : text.normalize('NFC');
  for (const ch of normalized) {
    if (ch.codePointAt(0)! > limit) {
      throw new GatewayError(ErrorCode.Invalid, `"${ch}" (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) cannot be encoded in ${set}`, {
        issues: [{ path: '(0008,0005)', message: `text not representable in ${set}`, hint: 'transliterate it or answer in ISO_IR 192' }],
      });
    }
  }
  return Buffer.from(normalized, 'latin1');
}

export interface AnswerCharset {
  /** The set to encode text values in. */
  charset: CharacterSet;
  /** The value of (0008,0005) for the answer; undefined: leave it out (all text is plain ASCII). */
  specificCharacterSet: string | undefined;
  /** Spell every text value with `transliterate(text, this)` before encoding; undefined: as is. */
  transliterate: 'latin1' | 'ascii' | undefined;
  /** The device's set could not hold the text, so this answer goes out in UTF-8. */
  fellBackToUtf8: boolean;
}

/**
 * The character set one answer goes out in.
 * - The set wanted: ISO_IR 192 when the device is configured so or the query's (0008,0005) names
 *   it; ISO_IR 100 when the device is configured so (the default), or configured ASCII but asks in
 *   ISO_IR 100; ASCII for a device configured ASCII.
 * - (0008,0005) is left out only when all the texts are plain ASCII.
 * - Text the wanted set cannot hold (`Łukasz`, `Dvořák`, Cyrillic in Latin-1) follows `policy`:
 *   transliterated (`Lukasz`, `Dvorak`, `Ivanov`; umlauts stay in Latin-1 and become `ae`, `oe`,
 *   `ue` in ASCII) or, with `utf8` or when no spelling exists (e.g. Chinese), ISO_IR 192.
 */
export function chooseAnswerCharset(
  deviceCharset: CharacterSet,
  queryCharset: string | readonly (string | null | undefined)[] | undefined,
  texts: readonly string[],
  policy: UnmappablePolicy = UnmappablePolicy.Transliterate,
): AnswerCharset {
  const asked = parseCharsetTerms(queryCharset).map(answerCharsetOf);
  let wanted: CharacterSet;
  if (deviceCharset === CharacterSet.Utf8 || asked.includes(CharacterSet.Utf8)) wanted = CharacterSet.Utf8;
  else if (deviceCharset === CharacterSet.Latin1 || asked.includes(CharacterSet.Latin1)) wanted = CharacterSet.Latin1;
  else wanted = CharacterSet.Ascii;

  const utf8: AnswerCharset = { charset: CharacterSet.Utf8, specificCharacterSet: CharacterSet.Utf8, transliterate: undefined, fellBackToUtf8: false };
  if (texts.every(isAscii)) return { charset: wanted, specificCharacterSet: undefined, transliterate: undefined, fellBackToUtf8: false };
  if (wanted === CharacterSet.Utf8) return utf8;
  if (wanted === CharacterSet.Latin1 && texts.every(isLatin1)) {
    return { charset: CharacterSet.Latin1, specificCharacterSet: CharacterSet.Latin1, transliterate: undefined, fellBackToUtf8: false };
  }
  if (policy === UnmappablePolicy.Utf8) return { ...utf8, fellBackToUtf8: true };
  const target = wanted === CharacterSet.Latin1 ? 'latin1' : 'ascii';
  const spelled = texts.map((t) => transliterate(t, target));
  if (!spelled.every((s) => s.complete)) return { ...utf8, fellBackToUtf8: true };
  const allAscii = spelled.every((s) => isAscii(s.text));
  return { charset: wanted, specificCharacterSet: allAscii ? undefined : wanted, transliterate: target, fellBackToUtf8: false };
}

/**
 * An answer identifier made ready for `deviceCharset`: its text transliterated where needed and
 * (0008,0005) set (or removed, when all text is ASCII). The caller then encodes each text value with
 * `encodeText(value, result.charset)`.
 */
export function prepareAnswerText(
  answer: DicomJson,
  deviceCharset: CharacterSet,
  queryCharset: string | readonly (string | null | undefined)[] | undefined,
  policy: UnmappablePolicy = UnmappablePolicy.Transliterate,
): { dataset: DicomJson } & AnswerCharset {
  const { [Tag.SpecificCharacterSet]: _ignored, ...rest } = answer;
  const choice = chooseAnswerCharset(deviceCharset, queryCharset, collectTexts(rest), policy);
  const target = choice.transliterate;
  const dataset = target === undefined ? rest : mapTexts(rest, (text) => transliterate(text, target).text);
  const withCharset: DicomJson =
    choice.specificCharacterSet === undefined ? dataset : { [Tag.SpecificCharacterSet]: { vr: 'CS', Value: [choice.specificCharacterSet] }, ...dataset };
  return { dataset: withCharset, ...choice };
}
