// Administrators: the staff accounts (officers, clerks, admins) and their state.
import {add, h, replace} from '../../shared/dom.js';
import {dateTime, label, t} from '../../shared/i18n.js';

export default {
  title: () => t('staff.title'),
  async render(view, params, ctx, alive) {
    const box = h('div', {id: 'staff'});
    add(view, h('h1', {}, t('staff.title')), box);
    const staff = await ctx.api.get('/admin/staff');
    if (!alive()) return;
    replace(box, h('table', {class: 'card'},
      h('caption', {class: 'visually-hidden'}, t('staff.title')),
      h('thead', {}, h('tr', {}, ['staff.username', 'staff.name', 'staff.role', 'staff.where', 'staff.state', 'staff.last_login'].map((k) => h('th', {scope: 'col'}, t(k))))),
      h('tbody', {}, staff.map((s) => h('tr', {},
        h('td', {}, s.username), h('td', {}, s.name || ''), h('td', {}, label('role', s.role)),
        h('td', {}, [s.department, s.region, s.station].filter(Boolean).join(' · ')),
        h('td', {}, !s.active ? t('staff.disabled') : s.locked ? t('staff.locked') : t('staff.active')),
        h('td', {}, dateTime(s.last_login_at)))))));
  },
};
