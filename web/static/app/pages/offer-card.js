// A proactive offer as a card: what it is for, what is filled in already, and one tap to accept
// (the application is made at once when nothing is missing; otherwise the joint form opens with
// the offer's answers in it) or to decline.
import {newKey} from '../../shared/api.js';
import {busy, h, notice} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, label, t} from '../../shared/i18n.js';

const SHOWN = ['newborn_name', 'newborn_birth_date', 'birth_hospital', 'child_name'];

/** The Idempotency-Key of one tap on one offer, kept until the offer is answered, so a second
 * tap or a retry after a lost answer makes no second application. */
function keyFor(offerId) {
  const name = `onething.offer.${offerId}`;
  let key = sessionStorage.getItem(name);
  if (!key) {
    key = newKey();
    sessionStorage.setItem(name, key);
  }
  return key;
}

export async function acceptOffer(ctx, offer, said) {
  try {
    const application = await ctx.api.post(`/me/offers/${encodeURIComponent(offer.id)}/accept`, {},
      {headers: {'Idempotency-Key': keyFor(offer.id)}});
    ctx.navigate(`/applications/${encodeURIComponent(application.id)}`);
  } catch (exc) {
    sessionStorage.removeItem(`onething.offer.${offer.id}`);
    if (exc.status === 422) {
      ctx.navigate(`/bundles/${encodeURIComponent(offer.bundle)}/apply?offer=${encodeURIComponent(offer.id)}`);
    } else {
      said.say(explain(exc), 'error');
    }
  }
}

export function offerCard(ctx, offer, {onChange, labels = new Map()} = {}) {
  const said = notice();
  const headingId = `offer-${offer.id}`;
  const known = Object.entries(offer.prefill || {}).filter(([k, v]) => SHOWN.includes(k) && v !== null && v !== '');
  const actions = [];
  if (offer.status === 'open') {
    const accept = h('button', {type: 'button', class: 'primary offer-accept', 'aria-describedby': headingId}, t('offer.accept'));
    accept.addEventListener('click', () => busy(accept, () => acceptOffer(ctx, offer, said)));
    const decline = h('button', {type: 'button', class: 'offer-decline', 'aria-describedby': headingId}, t('offer.decline'));
    decline.addEventListener('click', () => busy(decline, async () => {
      try {
        await ctx.api.post(`/me/offers/${encodeURIComponent(offer.id)}/decline`);
        said.say(t('offer.declined_said'), 'ok');
        if (onChange) await onChange();
      } catch (exc) {
        said.say(explain(exc), 'error');
      }
    }));
    actions.push(accept, decline);
  } else if (offer.application) {
    actions.push(h('a', {class: 'button', href: `#/applications/${encodeURIComponent(offer.application)}`}, t('offer.open_application')));
  }
  return h('article', {class: 'card offer', dataset: {offer: offer.id, status: offer.status}, 'aria-labelledby': headingId},
    h('div', {class: 'spread'}, h('h3', {id: headingId}, offer.bundle_name), h('span', {class: `status status-${offer.status === 'open' ? 'pending' : offer.status}`}, label('offer.status', offer.status))),
    h('p', {class: 'small'}, t(`offer.source_${offer.source}`)),
    known.length ? h('dl', {class: 'pairs small'}, known.flatMap(([k, v]) => [h('dt', {}, labels.get(k) || t(`offer.field_${k}`)), h('dd', {class: 'offer-value'}, String(v))])) : null,
    offer.status === 'open' ? h('p', {class: 'small muted'}, t('offer.materials', {
      on_file: (offer.materials_on_file || []).length,
      needed: (offer.materials_needed || []).map((m) => m.name).join(t('common.list_separator')) || t('offer.nothing_needed'),
    })) : null,
    offer.status === 'open' && offer.expires_at ? h('p', {class: 'small muted'}, t('offer.expires', {at: dateTime(offer.expires_at)})) : null,
    said, actions.length ? h('div', {class: 'row'}, actions) : null);
}
