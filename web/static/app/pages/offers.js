// My proactive offers: the one things started for me before I asked (a birth at the hospital,
// the enrolment season), open ones first; accept or decline each in one tap.
import {add, h, replace} from '../../shared/dom.js';
import {t} from '../../shared/i18n.js';
import {offerCard} from './offer-card.js';

export default {
  title: () => t('offer.title'),
  async render(view, params, ctx, alive) {
    const list = h('div', {id: 'offers-list', 'aria-live': 'polite'});
    add(view, h('h1', {}, t('offer.title')), h('p', {class: 'muted small'}, t('offer.lead')), list);
    async function load() {
      const offers = await ctx.api.get('/me/offers');
      if (!alive()) return;
      const order = {open: 0, accepted: 1, declined: 2, expired: 3};
      offers.sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9));
      replace(list, offers.length ? offers.map((o) => offerCard(ctx, o, {onChange: load})) : h('p', {class: 'card muted'}, t('offer.empty')));
    }
    await load();
  },
};
