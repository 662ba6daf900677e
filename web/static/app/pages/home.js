// Home: the eight life events with their before/after figures; my applications, live.
import {paged} from '../../shared/api.js';
import {add, h, replace} from '../../shared/dom.js';
import {t} from '../../shared/i18n.js';
import {applicationItem, figures, signInPrompt} from './common.js';

export default {
  title: () => t('home.title'),
  async render(view, params, ctx, alive) {
    const bundles = await ctx.cached('/bundles');
    const details = await Promise.all(bundles.map((b) => ctx.cached(`/bundles/${encodeURIComponent(b.code)}`).catch(() => null)));
    if (!alive()) return undefined;
    const mine = h('section', {class: 'card', 'aria-labelledby': 'my-apps'}, h('h2', {id: 'my-apps'}, t('home.my_applications')));
    add(view, 
      h('section', {class: 'hero'}, h('h1', {}, t('home.title')), h('p', {}, t('home.lead'))),
      ctx.signedIn() ? mine : null,
      h('section', {'aria-labelledby': 'life-events'},
        h('h2', {id: 'life-events'}, t('home.life_events')),
        h('ul', {class: 'bundles'}, bundles.map((bundle, i) => h('li', {},
          h('a', {href: `#/bundles/${encodeURIComponent(bundle.code)}`, class: 'bundle-card', dataset: {bundle: bundle.code}},
            h('h3', {}, bundle.name),
            ctx.large() ? null : h('p', {class: 'muted small'}, bundle.description),
            h('p', {class: 'small'}, t('home.matters_departments', {
              matters: bundle.matters, departments: details[i]?.departments?.length ?? bundle.figures_before?.departments ?? '—',
            })),
            figures(bundle.figures_before, details[i]?.figures?.after)))))),
      ctx.signedIn() ? null : signInPrompt('/', t('home.sign_in_lead')));

    if (!ctx.signedIn()) return undefined;
    const list = h('div', {'aria-live': 'polite'});
    mine.append(list);
    const limit = ctx.large() ? 2 : 4;
    const load = async () => {
      const {items: apps, total} = paged(await ctx.api.request('GET', '/applications', {params: {page_size: limit}, full: true}));
      if (!alive()) return;
      if (!apps.length) {
        replace(list, h('p', {class: 'muted'}, t('home.no_applications')));
        return;
      }
      replace(list, h('ul', {class: 'plain'}, apps.map((a) => h('li', {}, applicationItem(a)))),
        total > limit ? h('p', {}, h('a', {href: '#/applications'}, t('home.all_applications', {n: total}))) : null);
    };
    await load();
    let timer = null;
    const off = ctx.bus.on('notification', () => {
      clearTimeout(timer);
      timer = setTimeout(load, 200);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  },
};
