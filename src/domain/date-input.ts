/**
 * Dates and times as DICOM stores them (DA `YYYYMMDD`, TM `HHMMSS`), in the site's time zone.
 * Input may be DICOM or ISO 8601; an ISO date-time with an offset is converted to the site's zone.
 */

export type ParsedDateTime = { ok: true; date: string; time?: string } | { ok: false; message: string };

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days && y >= 1800 && y <= 9999;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The wall-clock date and time of an instant in a time zone. */
export function inTimeZone(instant: Date, timeZone: string): { date: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts['year']}${parts['month']}${parts['day']}`, time: `${parts['hour']}${parts['minute']}${parts['second']}` };
}

/** `20261123`, `2026-11-23`, or an ISO date-time (`2026-11-23T09:30:00+01:00`, which also yields the time). */
export function parseDateInput(input: string, timeZone: string): ParsedDateTime {
  const s = input.trim();
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(s) ?? /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m !== null) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return validDate(y, mo, d) ? { ok: true, date: `${m[1]}${m[2]}${m[3]}` } : { ok: false, message: `"${input}" is not a calendar date` };
  }
  m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (m !== null) {
    const [y, mo, d, h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
    if (!validDate(y, mo, d) || h > 23 || mi > 59 || sec > 59) return { ok: false, message: `"${input}" is not a valid date-time` };
    if (m[7] === undefined) return { ok: true, date: `${m[1]}${m[2]}${m[3]}`, time: `${m[4]}${m[5]}${pad(sec)}` };
    const instant = new Date(s.replace(' ', 'T'));
    if (Number.isNaN(instant.getTime())) return { ok: false, message: `"${input}" is not a valid date-time` };
    const local = inTimeZone(instant, timeZone);
    return { ok: true, date: local.date, time: local.time };
  }
  return { ok: false, message: `"${input}" is not a date; use YYYY-MM-DD, YYYYMMDD or an ISO 8601 date-time` };
}

/** `0930`, `093000`, `093000.5`, `09:30`, `09:30:15` → TM `HHMM[SS[.F]]` as given. */
export function parseTimeInput(input: string): { ok: true; time: string } | { ok: false; message: string } {
  const s = input.trim();
  const m = /^(\d{2}):?(\d{2})(?::?(\d{2})(\.\d{1,6})?)?$/.exec(s);
  if (m === null) return { ok: false, message: `"${input}" is not a time; use HH:MM, HH:MM:SS or HHMMSS` };
  const [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || mi > 59 || sec > 59) return { ok: false, message: `"${input}" is not a valid time of day` };
  return { ok: true, time: `${m[1]}${m[2]}${m[3] ?? '00'}${m[4] ?? ''}` };
}

/** DA to ISO `YYYY-MM-DD` for people. */
export function isoDate(da: string): string {
  return da.length === 8 ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : da;
}

/** DA plus whole days (negative: back), by the calendar. */
export function addDays(da: string, days: number): string {
  const d = new Date(Date.UTC(Number(da.slice(0, 4)), Number(da.slice(4, 6)) - 1, Number(da.slice(6, 8)) + days));
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}
