/**
 * Text folding for person-name matching and transliteration for answering devices whose character
 * set cannot hold a name. NFD decomposition strips the accents of most letters; the tables below
 * cover the letters that do not decompose (ß, Ł, Ø, Æ, ...) and the Cyrillic and Greek alphabets.
 */

/** Latin letters without a canonical decomposition, each with its usual plain spelling. */
const latinLetters: Readonly<Record<string, string>> = {
  ß: 'ss', ẞ: 'SS', Æ: 'AE', æ: 'ae', Œ: 'OE', œ: 'oe', Ø: 'O', ø: 'o', Ł: 'L', ł: 'l',
  Đ: 'D', đ: 'd', Ð: 'D', ð: 'd', Þ: 'Th', þ: 'th', ı: 'i', Ħ: 'H', ħ: 'h', Ŋ: 'N', ŋ: 'n',
  ĸ: 'k', Ŧ: 'T', ŧ: 't', ſ: 's', Ŀ: 'L', ŀ: 'l', Ɨ: 'I', ɨ: 'i', Ƶ: 'Z', ƶ: 'z',
};

/** Typographic punctuation outside Latin-1, spelled in ASCII. */
const punctuation: Readonly<Record<string, string>> = {
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u201C': '"', '\u201D': '"', '\u201E': '"',
  '\u2013': '-', '\u2014': '-', '\u2010': '-', '\u2011': '-', '\u2026': '...', '\u20AC': 'EUR', '\u2022': '*',
};

/** Cyrillic (Russian, Ukrainian, Belarusian, Bulgarian, Serbian), after the ICAO 9303 passport tables. */
const cyrillic: Readonly<Record<string, string>> = {
  А: 'A', Б: 'B', В: 'V', Г: 'G', Д: 'D', Е: 'E', Ё: 'E', Ж: 'Zh', З: 'Z', И: 'I', Й: 'I', К: 'K', Л: 'L',
  М: 'M', Н: 'N', О: 'O', П: 'P', Р: 'R', С: 'S', Т: 'T', У: 'U', Ф: 'F', Х: 'Kh', Ц: 'Ts', Ч: 'Ch',
  Ш: 'Sh', Щ: 'Shch', Ъ: 'Ie', Ы: 'Y', Ь: '', Э: 'E', Ю: 'Iu', Я: 'Ia', І: 'I', Ї: 'I', Є: 'Ie', Ґ: 'G',
  Ў: 'U', Ђ: 'D', Ј: 'J', Љ: 'Lj', Њ: 'Nj', Ћ: 'C', Џ: 'Dz', Ѕ: 'Dz', Ѓ: 'G', Ќ: 'K',
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i', к: 'k', л: 'l',
  м: 'm', н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch',
  ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia', і: 'i', ї: 'i', є: 'ie', ґ: 'g',
  ў: 'u', ђ: 'd', ј: 'j', љ: 'lj', њ: 'nj', ћ: 'c', џ: 'dz', ѕ: 'dz', ѓ: 'g', ќ: 'k',
};

/** Greek (ELOT 743 / ICAO), letters after accents are stripped. */
const greek: Readonly<Record<string, string>> = {
  Α: 'A', Β: 'V', Γ: 'G', Δ: 'D', Ε: 'E', Ζ: 'Z', Η: 'I', Θ: 'Th', Ι: 'I', Κ: 'K', Λ: 'L', Μ: 'M', Ν: 'N',
  Ξ: 'X', Ο: 'O', Π: 'P', Ρ: 'R', Σ: 'S', Τ: 'T', Υ: 'Y', Φ: 'F', Χ: 'Ch', Ψ: 'Ps', Ω: 'O',
  α: 'a', β: 'v', γ: 'g', δ: 'd', ε: 'e', ζ: 'z', η: 'i', θ: 'th', ι: 'i', κ: 'k', λ: 'l', μ: 'm', ν: 'n',
  ξ: 'x', ο: 'o', π: 'p', ρ: 'r', σ: 's', ς: 's', τ: 't', υ: 'y', φ: 'f', χ: 'ch', ψ: 'ps', ω: 'o',
};

/** German umlauts in ASCII, the way German registries spell them. */
const germanAscii: Readonly<Record<string, string>> = { ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'Ae', Ö: 'Oe', Ü: 'Ue', ß: 'ss', ẞ: 'SS' };

const combiningMarks = /\p{M}/gu;
const asciiOnly = /^[\x00-\x7f]*$/;
const latin1Only = /^[\x00-\xff]*$/;

export interface FoldOptions {
  ignoreCase: boolean;
  ignoreAccents: boolean;
  /** With ignoreAccents: `ae`, `oe`, `ue` fold like `ä`, `ö`, `ü` (so `Mueller` finds `Müller`). */
  foldDigraphs: boolean;
}

/**
 * The form person names are compared in. Applied to both sides, so that any spelling folds to the
 * same text: with all options `Müller`, `MUELLER`, `Muller` → `muller`; `Strauß` → `strauss`.
 */
export function foldText(text: string, options: FoldOptions): string {
  let out = options.ignoreCase ? text.toLowerCase() : text;
  if (!options.ignoreAccents) return out;
  if (!asciiOnly.test(out)) {
    let mapped = '';
    for (const ch of out) mapped += latinLetters[ch] ?? ch;
    out = mapped.normalize('NFD').replace(combiningMarks, '');
  }
  if (options.foldDigraphs) out = out.replace(/([aou])e/gi, '$1');
  return out;
}

/** Spells one character that the target cannot hold; undefined when we know no spelling. */
function spell(ch: string, next: string | undefined, target: 'latin1' | 'ascii'): string | undefined {
  const representable = target === 'latin1' ? latin1Only : asciiOnly;
  let out = (target === 'ascii' ? germanAscii[ch] : undefined) ?? latinLetters[ch] ?? punctuation[ch] ?? cyrillic[ch] ?? greek[ch];
  if (out === undefined) {
    const stripped = ch.normalize('NFD').replace(combiningMarks, '');
    const base = greek[stripped] ?? cyrillic[stripped] ?? stripped;
    if (base !== '' && representable.test(base)) out = base;
    else {
      const compat = ch.normalize('NFKD').replace(combiningMarks, '');
      if (compat !== '' && representable.test(compat)) out = compat;
    }
  }
  if (out === undefined) return undefined;
  // `ÜBEL` → `UEBEL`, `Übel` → `Uebel`: a capital spelled in two letters stays all capitals in a capital word
  if (out.length > 1 && next !== undefined && ch !== ch.toLowerCase() && next !== next.toLowerCase() && /\p{L}/u.test(next)) {
    out = out.toUpperCase();
  }
  return out;
}

export interface Transliteration {
  text: string;
  /** False when some characters had no spelling in the target (they are left as they were). */
  complete: boolean;
  changed: boolean;
}

/**
 * Rewrites `text` so that the target character set holds it: characters the target holds stay
 * (Latin-1 keeps `ü`, `é`, `ß`); others are spelled without accents (`Ł` → `L`, `ř` → `r`, `Щ` → `Shch`).
 * For ASCII, German umlauts become `ae`, `oe`, `ue`, `ss`.
 */
export function transliterate(text: string, target: 'latin1' | 'ascii'): Transliteration {
  const representable = target === 'latin1' ? latin1Only : asciiOnly;
  if (representable.test(text)) return { text, complete: true, changed: false };
  // Greek ου is one sound, u (ELOT 743)
  const chars = [...text.normalize('NFC').replace(/ΟΥ/g, 'OU').replace(/([οΟ])[υύ]/g, (_m, o: string) => (o === 'ο' ? 'ou' : 'Ou'))];
  let out = '';
  let complete = true;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (representable.test(ch)) {
      out += ch;
      continue;
    }
    const spelled = spell(ch, chars[i + 1], target);
    if (spelled === undefined) {
      complete = false;
      out += ch;
    } else out += spelled;
  }
  return { text: out, complete, changed: out !== text };
}

export function isAscii(text: string): boolean {
  return asciiOnly.test(text);
}

export function isLatin1(text: string): boolean {
  return latin1Only.test(text);
}
