// Home: the eight life events with their before/after figures; my applications, live.
import {paged} from '../../shared/api.js';
import {add, h, replace} from '../../shared/dom.js';
import {t} from '../../shared/i18n.js';
import {applicationItem, figures, signInPrompt} from './common.js';
import {offerCard} from './offer-card.js';

export default {
  title: () => t('home.title'),
  async render(view, params, ctx, alive) {
    const bundles = await ctx.cached('/bundles');
    if (!alive()) return undefined;
    const offers = h('section', {class: 'offers', 'aria-labelledby': 'my-offers', hidden: true}, h('h2', {id: 'my-offers'}, t('home.offers')));
    const mine = h('section', {class: 'card', 'aria-labelledby': 'my-apps'}, h('h2', {id: 'my-apps'}, t('home.my_applications')));
    add(view, 
      h('section', {class: 'hero'}, h('h1', {}, t('home.title')), h('p', {}, t('home.lead'))),
      ctx.signedIn() ? offers : null,
      ctx.signedIn() ? mine : null,
      h('section', {'aria-labelledby': 'life-events'},
        h('h2', {id: 'life-events'}, t('home.life_events')),
        h('ul', {class: 'bundles'}, bundles.map((bundle) => h('li', {},
          h('a', {href: `#/bundles/${encodeURIComponent(bundle.code)}`, class: 'bundle-card', dataset: {bundle: bundle.code}},
            h('h3', {}, bundle.name),
            ctx.large() ? null : h('p', {class: 'muted small'}, bundle.description),
            h('p', {class: 'small'}, t('home.matters_departments', {
              matters: bundle.matters, departments: bundle.departments ?? '—',
            })),
            figures(bundle.figures_before, bundle.figures_after)))))),
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
    const offerList = h('div', {id: 'home-offers'});
    offers.append(offerList);
    const loadOffers = async () => {
      const open = await ctx.api.get('/me/offers', {params: {status: 'open'}}).catch(() => []);
      if (!alive()) return;
      offers.hidden = !open.length;
      replace(offerList, open.slice(0, ctx.large() ? 1 : 3).map((o) => offerCard(ctx, o, {onChange: loadOffers})),
        open.length ? h('p', {}, h('a', {href: '#/offers'}, t('home.all_offers', {n: open.length}))) : null);
    };
    await Promise.all([load(), loadOffers()]);
    let timer = null;
    const off = ctx.bus.on('notification', (n) => {
      clearTimeout(timer);
      timer = setTimeout(() => { load(); if (n && n.type === 'offer_made') loadOffers(); }, 200);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  },
};
