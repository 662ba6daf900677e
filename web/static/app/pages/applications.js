// All my applications (and my minor children's), newest first, live.
import {paged} from '../../shared/api.js';
import {add, h, replace} from '../../shared/dom.js';
import {t} from '../../shared/i18n.js';
import {applicationItem} from './common.js';

export default {
  title: () => t('applications.title'),
  async render(view, params, ctx, alive) {
    const list = h('div', {'aria-live': 'polite'});
    add(view, h('h1', {}, t('applications.title')), h('section', {class: 'card'}, list));
    const pageSize = ctx.large() ? 4 : 10;
    let pages = 1;
    // Every page shown so far is read again on a notification, so each keeps its live status.
    const load = async () => {
      const answers = await Promise.all(Array.from({length: pages}, (_, i) => ctx.api.request(
        'GET', '/applications', {params: {page: i + 1, page_size: pageSize}, full: true})));
      if (!alive()) return;
      const apps = answers.flatMap((answer) => answer.data);
      const last = paged(answers[answers.length - 1]).pages;
      replace(list,
        apps.length ? h('ul', {class: 'plain'}, apps.map((a) => h('li', {}, applicationItem(a))))
          : h('p', {class: 'muted'}, t('home.no_applications')),
        pages < last ? h('button', {type: 'button', onclick: () => { pages += 1; load(); }}, t('common.more')) : null);
    };
    await load();
    return ctx.bus.on('notification', () => load());
  },
};
