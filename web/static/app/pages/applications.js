// All my applications (and my minor children's), newest first, live.
import {add, h, replace} from '../../shared/dom.js';
import {t} from '../../shared/i18n.js';
import {applicationItem} from './common.js';

export default {
  title: () => t('applications.title'),
  async render(view, params, ctx, alive) {
    const list = h('div', {'aria-live': 'polite'});
    add(view, h('h1', {}, t('applications.title')), h('section', {class: 'card'}, list));
    const pageSize = ctx.large() ? 4 : 10;
    let shown = pageSize;
    const load = async () => {
      const apps = await ctx.api.get('/applications');
      if (!alive()) return;
      replace(list,
        apps.length ? h('ul', {class: 'plain'}, apps.slice(0, shown).map((a) => h('li', {}, applicationItem(a))))
          : h('p', {class: 'muted'}, t('home.no_applications')),
        apps.length > shown ? h('button', {type: 'button', onclick: () => { shown += pageSize; load(); }}, t('common.more')) : null);
    };
    await load();
    return ctx.bus.on('notification', () => load());
  },
};
