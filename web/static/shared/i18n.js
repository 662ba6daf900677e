// Texts in Chinese and English from one JSON file per language (/web/i18n/<locale>.json).
export const LOCALES = ['zh-CN', 'en'];
const STORAGE_KEY = 'onething.locale';
let locale = 'zh-CN';
let texts = {};
const listeners = new Set();

export function preferredLocale() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LOCALES.includes(saved)) return saved;
  const wanted = (navigator.languages && navigator.languages[0]) || navigator.language || 'zh-CN';
  return wanted.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export async function setLocale(next, {remember = false} = {}) {
  const response = await fetch(`/web/i18n/${next}.json`, {cache: 'no-cache'});
  texts = await response.json();
  locale = next;
  if (remember) localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  listeners.forEach((fn) => fn(next));
}

export const getLocale = () => locale;
export const onLocaleChange = (fn) => listeners.add(fn);

/** t('home.title', {n: 3}): the text for the key in the current language, {n} filled in. */
export function t(key, vars) {
  let text = texts[key];
  if (text === undefined) text = key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (vars[name] ?? m));
  return text;
}

/** t() for a value that may have no text: an enum code shown as itself when unknown. */
export function label(prefix, code) {
  const key = `${prefix}.${code}`;
  return texts[key] === undefined ? String(code ?? '') : texts[key];
}

export function pick(names, fallback = '') {
  if (!names) return fallback;
  return names[locale] || names['zh-CN'] || names.en || fallback;
}

export function dateTime(iso) {
  if (!iso) return '';
  const when = new Date(iso);
  return new Intl.DateTimeFormat(locale, {dateStyle: 'medium', timeStyle: 'short'}).format(when);
}

export function date(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale, {dateStyle: 'medium'}).format(new Date(iso));
}

export function relative(iso) {
  if (!iso) return '';
  const minutes = Math.round((new Date(iso).getTime() - Date.now()) / 60000);
  const fmt = new Intl.RelativeTimeFormat(locale, {numeric: 'auto'});
  if (Math.abs(minutes) < 60) return fmt.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return fmt.format(hours, 'hour');
  return fmt.format(Math.round(hours / 24), 'day');
}

export function limit(value) {
  if (!value) return '';
  return t(`limit.${value.unit}`, {n: value.value});
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
