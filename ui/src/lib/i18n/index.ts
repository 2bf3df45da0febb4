// Tiny i18n: every UI string lives in a locale file (en.json for now); components call t().
// Keys are flat ("inbox.empty"); parameters are written {name} in the strings.
// Plurals use Intl.PluralRules categories as key suffixes: "x.one", "x.few", "x.other", …
import en from './en.json';

export type Messages = typeof en;
export type MessageKey = keyof Messages;
/** Keys that have plural forms: "conversation.messages" for "conversation.messages.one" / ".other". */
export type PluralKey = MessageKey extends infer K
  ? K extends `${infer Base}.other`
    ? Base
    : never
  : never;
export type Params = Record<string, string | number>;

export interface Locale {
  /** BCP 47 tag, also used for Intl formatting. */
  tag: string;
  dir: 'ltr' | 'rtl';
  messages: Partial<Record<string, string>>;
}

const EN: Locale = { tag: 'en', dir: 'ltr', messages: en };

let current: Locale = EN;
let plurals = new Intl.PluralRules(current.tag);
let numbers = new Intl.NumberFormat(current.tag);

/** Switch the UI language (other locales come later). Sets lang/dir on <html>. */
export function setLocale(locale: Locale): void {
  current = locale;
  plurals = new Intl.PluralRules(locale.tag);
  numbers = new Intl.NumberFormat(locale.tag);
  document.documentElement.lang = locale.tag;
  document.documentElement.dir = locale.dir;
}

/** The UI locale's BCP 47 tag, for Intl formatters. */
export function uiLocale(): string {
  return current.tag;
}

function fill(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? numbers.format(value) : value;
  });
}

function lookup(key: string): string | undefined {
  return current.messages[key] ?? (en as Record<string, string>)[key];
}

/** The UI string for `key` with {params} filled in; falls back to English, then to the key itself. */
export function t(key: MessageKey, params?: Params): string {
  return fill(lookup(key) ?? key, params);
}

/** Plural-aware t(): picks "key.one" / "key.few" / … by Intl.PluralRules, else "key.other". `count` is available as {count}. */
export function tn(key: PluralKey, count: number, params?: Params): string {
  const form = plurals.select(count);
  const template = lookup(`${key}.${form}`) ?? lookup(`${key}.other`) ?? key;
  return fill(template, { count, ...params });
}

/** Format a number in the UI locale. */
export function formatNumber(n: number): string {
  return numbers.format(n);
}

/** t() for keys built at run time (e.g. "channel." + row.channel), falling back to `fallback` when the key is unknown. */
export function tKnown(key: string, fallback: string, params?: Params): string {
  const template = lookup(key);
  return template === undefined ? fallback : fill(template, params);
}
