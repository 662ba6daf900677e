// The joint form, generated from a bundle's `form` fields: controls by type, checks in the page
// (required, patterns, bounds, choices, dates, ID numbers), the server's 422 errors beside fields.
import {h, field as fieldBox} from './dom.js';
import {t} from './i18n.js';

const MAX_LENGTH = {string: 200, text: 2000};
const MOBILE = /^1[3-9]\d{9}$/;
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

export function idNumberProblem(value) {
  const number = value.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(number)) return t('form.id_shape');
  const y = Number(number.slice(6, 10));
  const m = Number(number.slice(10, 12));
  const d = Number(number.slice(12, 14));
  const born = new Date(Date.UTC(y, m - 1, d));
  if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d || born > new Date()) {
    return t('form.id_date');
  }
  const sum = ID_WEIGHTS.reduce((s, w, i) => s + w * Number(number[i]), 0);
  if (ID_CHECK[sum % 11] !== number[17]) return t('form.id_check');
  return null;
}

function iso(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "today", "-1y", "+30d", "-6m", "+2w" or an ISO date → YYYY-MM-DD (the server's rule). */
export function resolveDate(spec) {
  if (!spec) return null;
  const today = new Date();
  if (spec === 'today') return iso(today);
  const m = /^([+-])(\d{1,3})([dwmy])$/.exec(spec.trim());
  if (!m) return spec;
  const n = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  const d = new Date(today);
  if (m[3] === 'd') d.setDate(d.getDate() + n);
  else if (m[3] === 'w') d.setDate(d.getDate() + 7 * n);
  else if (m[3] === 'm') d.setMonth(d.getMonth() + n);
  else d.setFullYear(d.getFullYear() + n);
  return iso(d);
}

function control(spec, value) {
  const attrs = {name: spec.name, required: spec.required || undefined, autocomplete: 'off'};
  switch (spec.type) {
    case 'text':
      return h('textarea', {...attrs, rows: 3, maxlength: MAX_LENGTH.text}, value ?? '');
    case 'integer':
    case 'number':
      return h('input', {
        ...attrs, type: 'number', inputmode: spec.type === 'integer' ? 'numeric' : 'decimal',
        step: spec.type === 'integer' ? '1' : 'any', min: spec.min ?? undefined, max: spec.max ?? undefined,
        value: value ?? '',
      });
    case 'date':
      return h('input', {...attrs, type: 'date', min: resolveDate(spec.min_date) || undefined, max: resolveDate(spec.max_date) || undefined, value: value ?? ''});
    case 'boolean':
      return h('select', attrs,
        h('option', {value: ''}, t('form.choose')),
        h('option', {value: 'true', selected: value === true}, t('form.yes')),
        h('option', {value: 'false', selected: value === false}, t('form.no')));
    case 'choice':
      return h('select', attrs, h('option', {value: ''}, t('form.choose')),
        (spec.choices || []).map((c) => h('option', {value: c, selected: value === c}, (spec.choice_labels || {})[c] || c)));
    case 'phone':
      return h('input', {...attrs, type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: 20, value: value ?? ''});
    case 'id_number':
      return h('input', {...attrs, type: 'text', maxlength: 18, autocapitalize: 'characters', value: value ?? ''});
    default:
      return h('input', {...attrs, type: 'text', maxlength: MAX_LENGTH.string, value: value ?? ''});
  }
}

/** The problem with one answer, in words, or null. */
export function problem(spec, raw) {
  const blank = raw === undefined || raw === null || (typeof raw === 'string' && !raw.trim());
  if (blank) return spec.required ? t('form.required', {f: spec.label}) : null;
  let value = raw;
  if (spec.type === 'integer' || spec.type === 'number') {
    if (!/^-?\d+(\.\d+)?$/.test(String(value).trim())) return t('form.number', {f: spec.label});
    value = Number(value);
    if (spec.type === 'integer' && !Number.isInteger(value)) return t('form.integer', {f: spec.label});
    if (spec.min !== null && spec.min !== undefined && value < spec.min) return t('form.min', {f: spec.label, n: spec.min});
    if (spec.max !== null && spec.max !== undefined && value > spec.max) return t('form.max', {f: spec.label, n: spec.max});
    return null;
  }
  if (spec.type === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return t('form.date', {f: spec.label});
    const earliest = resolveDate(spec.min_date);
    const latest = resolveDate(spec.max_date);
    if (earliest && value < earliest) return t('form.date_min', {f: spec.label, d: earliest});
    if (latest && value > latest) return t('form.date_max', {f: spec.label, d: latest});
    return null;
  }
  if (spec.type === 'choice' && !(spec.choices || []).includes(value)) return t('form.choice', {f: spec.label});
  if (spec.type === 'phone' && !MOBILE.test(String(value).replace(/[\s-]/g, ''))) return t('form.phone', {f: spec.label});
  if (spec.type === 'id_number') {
    const why = idNumberProblem(String(value));
    if (why) return `${spec.label}: ${why}`;
  }
  if ((spec.type === 'string' || spec.type === 'text') && String(value).trim().length > MAX_LENGTH[spec.type]) {
    return t('form.too_long', {f: spec.label, n: MAX_LENGTH[spec.type]});
  }
  if (spec.pattern && typeof value === 'string' && !new RegExp(spec.pattern).test(value.trim())) {
    return t('form.pattern', {f: spec.label});
  }
  return null;
}

function read(spec, input) {
  const raw = input.value;
  if (raw === '') return undefined;
  if (spec.type === 'integer' || spec.type === 'number') return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  if (spec.type === 'boolean') return raw === 'true';
  if (spec.type === 'id_number') return raw.trim().toUpperCase();
  return raw;
}

/**
 * A form of `fields`. `known(spec)` → a text to show instead of a control when the system fills
 * the field (prefill), or null to ask it. Returns {element, values(), check(), showErrors(errors)}.
 */
export function buildForm(fields, {known = () => null, values: initial = {}, prefix = 'form'} = {}) {
  const boxes = new Map();
  const rows = fields.map((spec) => {
    const shown = known(spec);
    if (shown !== null && shown !== undefined) {
      const box = h('div', {class: 'field field-known', dataset: {field: spec.name}},
        h('p', {class: 'known-label'}, spec.label),
        h('p', {class: 'known-value'}, shown),
        h('p', {class: 'hint'}, t('form.prefilled')));
      const error = h('p', {class: 'field-error', hidden: true, role: 'alert'});
      box.append(error);
      box.setError = (m) => { error.textContent = m || ''; error.hidden = !m; };
      boxes.set(spec.name, {spec, box, known: true});
      return box;
    }
    const input = control(spec, initial[spec.name]);
    input.id = `${prefix}-${spec.name}`;
    const box = fieldBox({
      label: spec.required ? spec.label : `${spec.label} ${t('form.optional')}`,
      input, name: spec.name,
    });
    input.addEventListener('blur', () => {
      if (input.value !== '') box.setError(problem(spec, read(spec, input)));
    });
    input.addEventListener('input', () => box.setError(null));
    boxes.set(spec.name, {spec, box, input});
    return box;
  });

  return {
    element: h('div', {class: 'form-fields'}, rows),
    values() {
      const out = {};
      for (const [name, entry] of boxes) {
        if (entry.known) continue;
        const value = read(entry.spec, entry.input);
        if (value !== undefined) out[name] = value;
      }
      return out;
    },
    /** Check every asked field; mark problems; focus the first; true when all is well. */
    check() {
      let first = null;
      for (const entry of boxes.values()) {
        if (entry.known) continue;
        const why = problem(entry.spec, read(entry.spec, entry.input));
        entry.box.setError(why);
        if (why && !first) first = entry.input;
      }
      if (first) first.focus();
      return !first;
    },
    /** The server's 422 `errors` ({"form.name": [..]}) beside their fields; the rest returned. */
    showErrors(errors) {
      const rest = {};
      let first = null;
      for (const [key, messages] of Object.entries(errors || {})) {
        const name = key.replace(/^form\./, '');
        const entry = boxes.get(name);
        const text = Array.isArray(messages) ? messages.join(' ') : String(messages);
        if (entry) {
          entry.box.setError(text);
          if (!first) first = entry.input || entry.box;
        } else {
          rest[key] = text;
        }
      }
      if (first) {
        if (first.tagName === 'DIV') first.setAttribute('tabindex', '-1');
        first.focus();
      }
      return rest;
    },
  };
}
