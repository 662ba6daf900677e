// Pieces several pages of the app show: status chips, figures, application summaries.
import {h} from '../../shared/dom.js';
import {label, t} from '../../shared/i18n.js';

export function statusChip(status) {
  return h('span', {class: `status status-${status}`, dataset: {status}}, label('status', status));
}

/** Before → after of one figure (departments, forms, materials, visits). */
export function figures(before, after) {
  const keys = ['forms', 'materials', 'visits'];
  return h('dl', {class: 'figures'}, keys.filter((k) => before && before[k] !== undefined).map((k) => {
    const afterValue = after ? after[k] : undefined;
    return h('div', {class: 'figure'},
      h('dt', {}, t(`figure.${k}`)),
      h('dd', {},
        h('span', {class: 'before', 'aria-label': t('figure.before_aria', {n: before[k]})}, String(before[k])),
        ' → ',
        h('span', {class: 'after'}, afterValue === undefined || afterValue === null ? '—' : String(afterValue))));
  }));
}

export function progressOf(application) {
  const tasks = application.tasks || [];
  const done = tasks.filter((task) => task.status === 'completed').length;
  return {done, total: tasks.length};
}

export function applicationItem(application) {
  const {done, total} = progressOf(application);
  const meter = h('span');
  meter.style.width = `${total ? Math.round((100 * done) / total) : 0}%`;
  return h('a', {href: `#/applications/${encodeURIComponent(application.id)}`, class: 'app-item', dataset: {application: application.id}},
    h('span', {class: 'spread'},
      h('span', {class: 'title'}, application.bundle_name),
      statusChip(application.status)),
    application.subject && application.subject.name
      ? h('span', {class: 'muted small subject-name'}, t('application.for', {name: application.subject.name})) : null,
    h('span', {class: 'muted small'}, ` ${t('application.progress', {done, total})}`),
    h('span', {class: 'meter', 'aria-hidden': 'true'}, meter));
}

export function signInPrompt(next, text) {
  return h('div', {class: 'card'},
    h('p', {}, text || t('signin.needed')),
    h('a', {class: 'button primary', href: `#/sign-in?next=${encodeURIComponent(next)}`}, t('signin.title')));
}
