// Administrators: deliveries that spent their retries (push, mini-program, SMS, webhooks).
import {add, busy, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, t} from '../../shared/i18n.js';

export default {
  title: () => t('deliveries.title'),
  async render(view, params, ctx, alive) {
    const box = h('div', {id: 'deliveries'});
    const said = notice();
    add(view, h('h1', {}, t('deliveries.title')), said, box);
    async function load() {
      const failed = await ctx.api.get('/admin/notifications/failed', {params: {page_size: 50}});
      if (!alive()) return;
      replace(box, failed.items.length ? h('table', {class: 'card'},
        h('caption', {class: 'visually-hidden'}, t('deliveries.title')),
        h('thead', {}, h('tr', {}, ['deliveries.type', 'deliveries.channel', 'deliveries.attempts', 'deliveries.error', 'deliveries.when', 'deliveries.action'].map((k) => h('th', {scope: 'col'}, t(k))))),
        h('tbody', {}, failed.items.map((d) => {
          const retry = h('button', {type: 'button'}, t('deliveries.retry'));
          retry.addEventListener('click', () => busy(retry, async () => {
            try {
              await ctx.api.post(`/admin/notifications/failed/${encodeURIComponent(d.id)}/retry`);
              said.say(t('deliveries.retried'), 'ok');
              await load();
            } catch (exc) { said.say(explain(exc), 'error'); }
          }));
          return h('tr', {}, h('td', {}, d.type), h('td', {}, d.channel), h('td', {}, String(d.attempts)),
            h('td', {}, d.last_error || ''), h('td', {}, dateTime(d.updated_at)), h('td', {}, retry));
        })))
        : h('p', {class: 'card muted'}, t('deliveries.empty')));
    }
    await load();
  },
};
