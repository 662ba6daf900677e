// Applications made at my station, newest first.
import {add, h, replace} from '../../shared/dom.js';
import {dateTime, t} from '../../shared/i18n.js';
import {paged, pagerButtons, statusChip} from './common.js';

export default {
  title: () => t('station.list'),
  async render(view, params, ctx, alive) {
    const box = h('div', {id: 'station-applications'});
    const pager = h('div', {class: 'pager'});
    add(view, h('h1', {}, t('station.list')), box, pager);
    let page = 1;
    async function load() {
      const answer = paged(await ctx.api.request('GET', '/workbench/assisted-applications', {params: {page, page_size: 20}, full: true}));
      const {items} = answer;
      if (!alive()) return;
      replace(box, items.length ? h('table', {class: 'card'},
        h('caption', {class: 'visually-hidden'}, t('station.list')),
        h('thead', {}, h('tr', {}, ['task.bundle', 'task.subject', 'station.citizen', 'queue.status', 'task.received'].map((k) => h('th', {scope: 'col'}, t(k))))),
        h('tbody', {}, items.map((a) => h('tr', {dataset: {application: a.id}},
          h('td', {}, a.bundle_name), h('td', {class: 'subject-name'}, a.subject_name || '—'), h('td', {}, a.citizen_phone || ''),
          h('td', {}, statusChip(a.status)), h('td', {}, dateTime(a.created_at))))))
        : h('p', {class: 'card muted'}, t('station.none')));
      replace(pager, pagerButtons(answer, (p) => { page = p; load(); }));
    }
    await load();
  },
};
