// DOM helpers: every text goes in as a text node (never parsed as HTML), so data stays inert.
const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'selected') el[key] = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h('button', {class: 'primary', onclick}, 'Text', otherNode) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** el.append() that skips null, undefined and false (native append would write "null"). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let uid = 0;
export function nextId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form control with a place for its error, wired with aria-describedby. */
export function field({label, input, hint, name}) {
  const id = input.id || nextId(name || 'field');
  input.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const error = h('p', {class: 'field-error', id: errorId, hidden: true, 'aria-live': 'polite'});
  input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const wrapper = h('div', {class: 'field', dataset: {field: name || ''}},
    h('label', {for: id}, label),
    hint ? h('p', {class: 'hint', id: hintId}, hint) : null,
    input, error);
  wrapper.setError = (message) => {
    error.textContent = message || '';
    error.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };
  wrapper.input = input;
  return wrapper;
}

/** A live status line for a section: what happened, said to screen readers too. */
export function notice(kind = 'info') {
  const el = h('p', {class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status', hidden: true});
  el.say = (message, nextKind) => {
    if (nextKind) el.className = `notice notice-${nextKind}`;
    el.textContent = message || '';
    el.hidden = !message;
  };
  return el;
}

export function button(label, onclick, attrs = {}) {
  return h('button', {type: 'button', ...attrs, onclick}, label);
}

/** Run an action once at a time from a button: disabled and busy while it runs. */
export async function busy(btn, action) {
  if (btn.disabled) return undefined;
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}
