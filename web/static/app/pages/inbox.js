// The inbox: what the departments did, newest first; read one or all.
import {add, busy, h, replace} from '../../shared/dom.js';
import {dateTime, t} from '../../shared/i18n.js';

export default {
  title: () => t('inbox.title'),
  async render(view, params, ctx, alive) {
    const list = h('ul', {class: 'plain', id: 'inbox-list', 'aria-live': 'polite'});
    const pager = h('div', {class: 'spread'});
    const readAll = h('button', {type: 'button', id: 'read-all'}, t('inbox.read_all'));
    const summary = h('p', {class: 'muted'});
    add(view, h('div', {class: 'spread'}, h('h1', {}, t('inbox.title')), readAll),
      summary, h('section', {class: 'card'}, list, pager));
    const pageSize = ctx.large() ? 5 : 20;
    let page = 1;

    async function load() {
      const inbox = await ctx.api.get('/me/notifications', {params: {page, page_size: pageSize}});
      if (!alive()) return;
      summary.textContent = t('inbox.summary', {total: inbox.total, unread: inbox.unread});
      readAll.disabled = inbox.unread === 0;
      replace(list, inbox.items.length ? inbox.items.map((n) => {
        const open = async () => {
          if (!n.read) {
            await ctx.api.post(`/me/notifications/${encodeURIComponent(n.id)}/read`).catch(() => null);
            ctx.bus.emit('inbox-changed');
          }
          if (n.application) ctx.navigate(`/applications/${encodeURIComponent(n.application)}`);
          else load();
        };
        return h('li', {class: n.read ? 'notification' : 'notification unread', dataset: {type: n.type}},
          h('p', {class: 'n-title'}, n.read ? null : h('span', {class: 'status status-pending'}, t('inbox.new')), ' ', n.title),
          h('p', {}, n.body),
          n.detail ? h('p', {class: 'small muted'}, n.detail) : null,
          h('div', {class: 'spread'},
            h('time', {class: 'small muted', datetime: n.at}, dateTime(n.at)),
            h('button', {type: 'button', class: 'link', onclick: open}, n.application ? t('inbox.open') : t('inbox.mark_read'))));
      }) : h('li', {class: 'muted'}, t('inbox.empty')));
      const pages = Math.max(1, Math.ceil(inbox.total / pageSize));
      replace(pager,
        h('button', {type: 'button', disabled: page <= 1, onclick: () => { page -= 1; load(); }}, t('common.previous')),
        h('span', {class: 'small muted'}, t('common.page', {page, pages})),
        h('button', {type: 'button', disabled: page >= pages, onclick: () => { page += 1; load(); }}, t('common.next')));
    }
    readAll.addEventListener('click', () => busy(readAll, async () => {
      await ctx.api.post('/me/notifications/read-all');
      ctx.bus.emit('inbox-changed');
      await load();
    }));
    await load();
    return ctx.bus.on('notification', () => { if (page === 1) load(); });
  },
};
