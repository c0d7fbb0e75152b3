/**
 * DICOM DA, TM and DT values (PS3.5 6.2) as comparable numbers, and their range forms (PS3.4 C.2.2.2.5).
 *
 * A value names a span: `2026` (DT) is the whole year, `10` (TM) the whole hour 10:00-10:59:59.999999.
 * Parsing gives that span as `{ lo, hi }`, inclusive:
 * - DA: days since 1970-01-01;
 * - TM: microseconds since midnight;
 * - DT: microseconds since 1970-01-01T00:00Z (a value without offset is taken as UTC, so values
 *   without offsets compare among themselves as written).
 * Lenient inputs accepted: the retired ACR-NEMA forms `YYYY.MM.DD` and `HH:MM:SS`.
 */

export interface Span {
  lo: number;
  hi: number;
}

const microsPerSecond = 1_000_000;
export const microsPerDay = 86_400 * microsPerSecond;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const monthLengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : monthLengths[month - 1]!;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month may run one past December). */
function dayNumber(year: number, month: number, day: number): number {
  // H. Hinnant's days_from_civil: plain arithmetic, no Date objects (this runs per candidate)
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** `YYYYMMDD` (or `YYYY.MM.DD`) → days since 1970-01-01; undefined when not a valid date. */
export function parseDate(text: string): number | undefined {
  if (text.length === 8) {
    // fast path for the usual form
    const year = Number(text.slice(0, 4));
    const month = Number(text.slice(4, 6));
    const day = Number(text.slice(6, 8));
    if (/^\d{8}$/.test(text)) {
      if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
      return dayNumber(year, month, day);
    }
  }
  const m = /^(\d{4})(?:(\d{2})(\d{2})|\.(\d{2})\.(\d{2}))$/.exec(text.trim());
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2] ?? m[4]);
  const day = Number(m[3] ?? m[5]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return dayNumber(year, month, day);
}

/** Days since 1970-01-01 → `YYYYMMDD`. */
export function formatDate(days: number): string {
  const d = new Date(days * 86_400_000);
  const y = d.getUTCFullYear();
  return `${String(y).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** Microseconds from a fraction string of 1-6 digits, and how far the span reaches past it. */
function fraction(digits: string | undefined): { micros: number; extent: number } | undefined {
  if (digits === undefined) return undefined;
  if (!/^\d{1,6}$/.test(digits)) return undefined;
  const scale = 10 ** (6 - digits.length);
  return { micros: Number(digits) * scale, extent: scale - 1 };
}

/** `HH[MM[SS[.F{1,6}]]]` (or `HH:MM[:SS[.F]]`) → its span in microseconds since midnight. */
export function parseTime(text: string): Span | undefined {
  const t = text.trim();
  const m = /^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(t);
  if (m === null) return undefined;
  // the colon form must be consistent: either no colons or colons between all parts given
  if (t.includes(':') && !/^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)) return undefined;
  const hh = Number(m[1]);
  const mm = m[2] === undefined ? undefined : Number(m[2]);
  const ss = m[3] === undefined ? undefined : Number(m[3]);
  if (hh > 23 || (mm !== undefined && mm > 59) || (ss !== undefined && ss > 60)) return undefined;
  const lo = ((hh * 60 + (mm ?? 0)) * 60 + (ss ?? 0)) * microsPerSecond;
  const f = fraction(m[4]);
  if (f !== undefined) return { lo: lo + f.micros, hi: lo + f.micros + f.extent };
  const extent = ss !== undefined ? microsPerSecond : mm !== undefined ? 60 * microsPerSecond : 3600 * microsPerSecond;
  return { lo, hi: Math.min(lo + extent - 1, microsPerDay - 1) };
}

/**
 * `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]` → its span in microseconds since the epoch (UTC; the
 * offset, when given, is applied).
 */
export function parseDateTime(text: string): Span | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$/.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  if (frac !== undefined && s === undefined) return undefined;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysInMonth(year, month ?? 1))) return undefined;
  const hour = h === undefined ? undefined : Number(h);
  const minute = mi === undefined ? undefined : Number(mi);
  const second = s === undefined ? undefined : Number(s);
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 60) return undefined;
  let offsetMicros = 0;
  if (offset !== undefined) {
    const sign = offset.startsWith('-') ? -1 : 1;
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(3, 5));
    if (oh > 14 || om > 59) return undefined;
    offsetMicros = sign * (oh * 60 + om) * 60 * microsPerSecond;
  }
  const lo =
    dayNumber(year, month ?? 1, day ?? 1) * microsPerDay +
    (((hour ?? 0) * 60 + (minute ?? 0)) * 60 + (second ?? 0)) * microsPerSecond;
  const f = fraction(frac);
  let hiExclusive: number;
  if (f !== undefined) hiExclusive = lo + f.micros + f.extent + 1;
  else if (second !== undefined) hiExclusive = lo + microsPerSecond;
  else if (minute !== undefined) hiExclusive = lo + 60 * microsPerSecond;
  else if (hour !== undefined) hiExclusive = lo + 3600 * microsPerSecond;
  else if (day !== undefined) hiExclusive = lo + microsPerDay;
  else if (month !== undefined) hiExclusive = dayNumber(year, month + 1, 1) * microsPerDay;
  else hiExclusive = dayNumber(year + 1, 1, 1) * microsPerDay;
  const start = lo + (f?.micros ?? 0);
  return { lo: start - offsetMicros, hi: hiExclusive - 1 - offsetMicros };
}

/** A query range: open ends are infinite. */
export type Range = Span;

/**
 * Parses a DA, TM or DT key value: a single value (its span) or `a-b`, `-b`, `a-` (PS3.4 C.2.2.2.5).
 * Undefined when malformed. A range whose lower end lies after its upper end is returned as is
 * (`lo > hi`): the caller decides whether that is an error.
 */
export function parseRange(vr: 'DA' | 'TM' | 'DT', text: string): { range: Range; isRange: boolean } | undefined {
  const value = text.trim();
  const single = parseSingle(vr, value);
  if (single !== undefined) return { range: single, isRange: false };
  const dashes: number[] = [];
  for (let i = value.indexOf('-'); i !== -1; i = value.indexOf('-', i + 1)) dashes.push(i);
  for (const i of dashes) {
    const left = value.slice(0, i);
    const right = value.slice(i + 1);
    if (left === '' && right === '') continue;
    const lo = left === '' ? undefined : parseSingle(vr, left);
    const hi = right === '' ? undefined : parseSingle(vr, right);
    if ((left !== '' && lo === undefined) || (right !== '' && hi === undefined)) continue;
    return { range: { lo: lo?.lo ?? -Infinity, hi: hi?.hi ?? Infinity }, isRange: true };
  }
  return undefined;
}

function parseSingle(vr: 'DA' | 'TM' | 'DT', text: string): Span | undefined {
  if (vr === 'DA') {
    const day = parseDate(text);
    return day === undefined ? undefined : { lo: day, hi: day };
  }
  return vr === 'TM' ? parseTime(text) : parseDateTime(text);
}
