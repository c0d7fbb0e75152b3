/** Offset of `timeZone` from UTC at `instant`, in ms (positive east of Greenwich). */
function zoneOffset(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The instant of local midnight at the start of the given local date in `timeZone`. */
export function zonedMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const guess = Date.UTC(year, month - 1, day);
  let instant = guess - zoneOffset(guess, timeZone);
  // Once more in case the offset changes between the guess and the result (DST).
  instant = guess - zoneOffset(instant, timeZone);
  return new Date(instant);
}

export interface QuarterBounds {
  /** Start of the current calendar quarter, local midnight in the site's time zone. */
  currentStart: Date;
  previousStart: Date;
  /** e.g. `2026-Q1`. */
  current: string;
  previous: string;
}

/** The current and previous calendar quarters at `now` in the site's time zone. */
export function quarterBounds(now: Date, timeZone: string): QuarterBounds {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric' }).formatToParts(now);
  const year = Number(parts.find((p) => p.type === 'year')?.value);
  const month = Number(parts.find((p) => p.type === 'month')?.value);
  const q = Math.floor((month - 1) / 3);
  const prevYear = q === 0 ? year - 1 : year;
  const prevQ = q === 0 ? 3 : q - 1;
  return {
    currentStart: zonedMidnight(year, q * 3 + 1, 1, timeZone),
    previousStart: zonedMidnight(prevYear, prevQ * 3 + 1, 1, timeZone),
    current: `${year}-Q${q + 1}`,
    previous: `${prevYear}-Q${prevQ + 1}`,
  };
}
