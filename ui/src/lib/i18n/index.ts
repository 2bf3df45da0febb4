// Tiny i18n: every UI string lives in a locale file (en.json, he.json, ar.json, pl.json);
// components call t(). Keys are flat ("inbox.empty"); parameters are written {name}.
// Plurals use Intl.PluralRules categories as key suffixes: "x.one", "x.two", "x.few",
// "x.many", "x.zero", "x.other" — each locale file has the forms its language uses.
// A key missing from a locale falls back to English.
//
// Adding a language: create xx.json with the same keys and register it in LOCALES below.
import ar from './ar.json';
import en from './en.json';
import he from './he.json';
import { active } from './locale.svelte';
import pl from './pl.json';

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
  /** The language's own name, for the language menu. */
  name: string;
  dir: 'ltr' | 'rtl';
  messages: Partial<Record<string, string>>;
}

/** Every UI language, by code. */
export const LOCALES: Readonly<Record<string, Locale>> = {
  en: { tag: 'en', name: 'English', dir: 'ltr', messages: en },
  he: { tag: 'he', name: 'עברית', dir: 'rtl', messages: he },
  ar: { tag: 'ar', name: 'العربية', dir: 'rtl', messages: ar },
  pl: { tag: 'pl', name: 'Polski', dir: 'ltr', messages: pl },
};

const ENGLISH: Partial<Record<string, string>> = en;

// Intl objects are costly to build: one per locale.
const pluralRules = new Map<string, Intl.PluralRules>();
const numberFormats = new Map<string, Intl.NumberFormat>();

/** The registered locale for `code`, or undefined (never an inherited Object property). */
function known(code: string): Locale | undefined {
  return Object.hasOwn(LOCALES, code) ? LOCALES[code] : undefined;
}

function current(): Locale {
  return known(active.code) ?? LOCALES.en;
}

function plurals(): Intl.PluralRules {
  const tag = current().tag;
  let p = pluralRules.get(tag);
  if (!p) pluralRules.set(tag, (p = new Intl.PluralRules(tag)));
  return p;
}

function numbers(): Intl.NumberFormat {
  const tag = current().tag;
  let n = numberFormats.get(tag);
  if (!n) numberFormats.set(tag, (n = new Intl.NumberFormat(tag)));
  return n;
}

/** Set by the ?dir= dev aid: keeps that direction whatever the language. */
let dirOverride: 'ltr' | 'rtl' | null = null;

/** Forces the document direction (dev aid for checking the mirrored layout). */
export function overrideDir(dir: 'ltr' | 'rtl'): void {
  dirOverride = dir;
  document.documentElement.dir = dir;
}

/** Switches the UI language at once (unknown codes fall back to English); sets lang and dir on <html>. */
export function setLocale(code: string): void {
  const locale = known(code) ?? LOCALES.en;
  active.code = known(code) ? code : 'en';
  document.documentElement.lang = locale.tag;
  document.documentElement.dir = dirOverride ?? locale.dir;
}

/** The current UI language code (en, he, ar, pl). */
export function localeCode(): string {
  return active.code;
}

/** The language to start in before the settings say otherwise: the system's if we have it, else English. */
export function systemLocale(): string {
  const languages = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]);
  for (const lang of languages) {
    const primary = lang.toLowerCase().split('-')[0];
    // "iw" is the old code for Hebrew some systems still report.
    const code = primary === 'iw' ? 'he' : primary;
    if (known(code)) return code;
  }
  return 'en';
}

/** The UI locale's BCP 47 tag, for Intl formatters. */
export function uiLocale(): string {
  return current().tag;
}

function fill(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? numbers().format(value) : value;
  });
}

function lookup(key: string): string | undefined {
  return current().messages[key] ?? ENGLISH[key];
}

/** The UI string for `key` with {params} filled in; falls back to English, then to the key itself. */
export function t(key: MessageKey, params?: Params): string {
  return fill(lookup(key) ?? key, params);
}

/** Plural-aware t(): picks "key.one" / "key.few" / … by Intl.PluralRules, else "key.other". `count` is available as {count}. */
export function tn(key: PluralKey, count: number, params?: Params): string {
  const form = plurals().select(count);
  // The form must come from the same locale as the rules: English has no "few".
  const own = current().messages;
  const template = own[`${key}.${form}`] ?? own[`${key}.other`] ?? ENGLISH[`${key}.${form}`] ?? ENGLISH[`${key}.other`] ?? key;
  return fill(template, { count, ...params });
}

/** Format a number in the UI locale. */
export function formatNumber(n: number): string {
  return numbers().format(n);
}

/** t() for keys built at run time (e.g. "channel." + row.channel), falling back to `fallback` when the key is unknown. */
export function tKnown(key: string, fallback: string, params?: Params): string {
  const template = lookup(key);
  return template === undefined ? fallback : fill(template, params);
}
