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
