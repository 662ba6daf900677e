// Administrators: the staff accounts (officers, clerks, admins) and their state.
import {add, h, replace} from '../../shared/dom.js';
import {dateTime, label, t} from '../../shared/i18n.js';
import {paged, pagerButtons} from './common.js';

export default {
  title: () => t('staff.title'),
  async render(view, params, ctx, alive) {
    const box = h('div', {id: 'staff'});
    const pager = h('div', {class: 'pager'});
    add(view, h('h1', {}, t('staff.title')), box, pager);
    async function load(page) {
      const answer = paged(await ctx.api.request('GET', '/admin/staff', {params: {page, page_size: 50}, full: true}));
      if (!alive()) return;
      const staff = answer.items;
      replace(pager, answer.pages > 1 ? pagerButtons(answer, load) : null);
      replace(box, h('table', {class: 'card'},
        h('caption', {class: 'visually-hidden'}, t('staff.title')),
        h('thead', {}, h('tr', {}, ['staff.username', 'staff.name', 'staff.role', 'staff.where', 'staff.state', 'staff.last_login'].map((k) => h('th', {scope: 'col'}, t(k))))),
        h('tbody', {}, staff.map((s) => h('tr', {},
          h('td', {}, s.username), h('td', {}, s.name || ''), h('td', {}, label('role', s.role)),
          h('td', {}, [s.department, s.region, s.station].filter(Boolean).join(' · ')),
          h('td', {}, !s.active ? t('staff.disabled') : s.locked ? t('staff.locked') : t('staff.active')),
          h('td', {}, dateTime(s.last_login_at)))))));
    }
    await load(1);
  },
};
