// Date/time display in the UI locale (Intl), in the user's local time zone.
import { uiLocale } from './i18n';

const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(kind: 'time' | 'dayMonth' | 'date' | 'full'): Intl.DateTimeFormat {
  const key = `${uiLocale()}|${kind}`;
  let f = cache.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'time'
        ? { hour: 'numeric', minute: '2-digit' }
        : kind === 'dayMonth'
          ? { day: 'numeric', month: 'short' }
          : kind === 'date'
            ? { day: 'numeric', month: 'short', year: 'numeric' }
            : { dateStyle: 'medium', timeStyle: 'short' };
    f = new Intl.DateTimeFormat(uiLocale(), options);
    cache.set(key, f);
  }
  return f;
}

function parse(iso: string): Date | null {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Compact time for lists: the time today, day and month this year, else the date. */
export function shortTime(iso: string, now: Date = new Date()): string {
  const d = parse(iso);
  if (!d) return iso;
  if (sameDay(d, now)) return formatter('time').format(d);
  if (d.getFullYear() === now.getFullYear()) return formatter('dayMonth').format(d);
  return formatter('date').format(d);
}

/** Full local date and time, e.g. for message headers and tooltips. */
export function fullTime(iso: string): string {
  const d = parse(iso);
  return d ? formatter('full').format(d) : iso;
}

const units = new Map<string, Intl.NumberFormat>();

function unitFormat(unit: 'minute' | 'hour' | 'day'): Intl.NumberFormat {
  const key = `${uiLocale()}|${unit}`;
  let f = units.get(key);
  if (!f) {
    f = new Intl.NumberFormat(uiLocale(), { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 0 });
    units.set(key, f);
  }
  return f;
}

/** A duration in whole minutes as the UI locale writes it short: "12 min", "3 hr", "2 days". */
export function shortDuration(minutes: number): string {
  const m = Math.max(0, Math.floor(minutes));
  if (m < 60) return unitFormat('minute').format(m);
  if (m < 48 * 60) return unitFormat('hour').format(Math.floor(m / 60));
  return unitFormat('day').format(Math.floor(m / (24 * 60)));
}

/** Minutes from `iso` until `now` (negative when `iso` is in the future); NaN for a bad timestamp. */
export function minutesSince(iso: string, now: number = Date.now()): number {
  return (now - Date.parse(iso)) / 60_000;
}

/** Just the local time of day, e.g. for follow-ups due today. */
export function timeOfDay(iso: string): string {
  const d = parse(iso);
  return d ? formatter('time').format(d) : iso;
}

/** The first instant of the next local day: "due today" ends there. */
export function endOfToday(now: Date = new Date()): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
}
