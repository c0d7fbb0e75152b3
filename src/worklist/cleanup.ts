import { addDays, inTimeZone } from '../domain/date-input.ts';

/**
 * What the cleanup removes: steps dated before `pastBefore` (the site's calendar) and finished steps
 * whose status changed before `finishedBefore`.
 */
export function worklistCleanupCutoffs(now: Date, timeZone: string, cleanup: { pastDays: number; finishedDays: number }): { pastBefore: string; finishedBefore: string } {
  const today = inTimeZone(now, timeZone).date;
  return {
    pastBefore: addDays(today, -cleanup.pastDays),
    finishedBefore: new Date(now.getTime() - cleanup.finishedDays * 86_400_000).toISOString(),
  };
}
