// Amounts and sizes in the UI locale.
import { formatNumber, uiLocale } from './i18n';

const currencyFormats = new Map<string, Intl.NumberFormat>();

function currencyFormat(currency: string): Intl.NumberFormat | null {
  const key = `${uiLocale()}|${currency}`;
  let f = currencyFormats.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(uiLocale(), { style: 'currency', currency });
    } catch {
      return null; // not an ISO 4217 code
    }
    currencyFormats.set(key, f);
  }
  return f;
}

/** An amount in minor units (cents, agorot, grosze) with its currency; the currency's own decimals (JPY has none). */
export function formatMoney(minor: number, currency: string | null): string {
  const f = currency ? currencyFormat(currency.toUpperCase()) : null;
  if (!f) {
    const amount = formatNumber(minor / 100);
    return currency ? `${amount} ${currency}` : amount;
  }
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(minor / 10 ** digits);
}

const sizeFormats = new Map<string, Intl.NumberFormat>();

/** A file size: "512 B", "3.4 kB", "1.2 MB". */
export function formatBytes(bytes: number): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i += 1;
  }
  const key = `${uiLocale()}|${units[i]}`;
  let f = sizeFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(uiLocale(), { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: 1 });
    sizeFormats.set(key, f);
  }
  return f.format(value);
}
