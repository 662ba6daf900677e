// Me: who I am (masked), real-name verification, links to family and notification settings,
// the language, large text and signing out.
import {add, busy, h} from '../../shared/dom.js';
import {label, t} from '../../shared/i18n.js';
import {realNameCard} from './apply.js';

export default {
  title: () => t('me.title'),
  async render(view, params, ctx, alive) {
    const me = await ctx.profile({fresh: true});
    if (!alive()) return;
    const signOut = h('button', {type: 'button', class: 'danger', id: 'sign-out'}, t('me.sign_out'));
    signOut.addEventListener('click', () => busy(signOut, () => ctx.signOut()));
    add(view, 
      h('h1', {}, t('me.title')),
      h('section', {class: 'card', 'aria-labelledby': 'profile-heading'},
        h('h2', {id: 'profile-heading'}, t('me.profile')),
        h('dl', {class: 'pairs'},
          h('dt', {}, t('me.name')), h('dd', {id: 'my-name'}, me.name || t('me.no_name')),
          h('dt', {}, t('me.phone')), h('dd', {}, me.phone || ''),
          h('dt', {}, t('me.real_name')), h('dd', {}, me.real_name_verified
            ? h('span', {class: 'status status-completed'}, t('me.verified'))
            : h('span', {class: 'status status-waiting'}, t('me.not_verified'))),
          me.id_number ? [h('dt', {}, t('me.id_number')), h('dd', {}, me.id_number)] : null,
          me.gender ? [h('dt', {}, t('me.gender')), h('dd', {}, label('gender', me.gender))] : null)),
      me.real_name_verified ? null : realNameCard(ctx, () => ctx.navigate('/me', {replace: true})),
      h('nav', {class: 'card menu', 'aria-label': t('me.more')},
        h('a', {href: '#/applications'}, t('applications.title')),
        h('a', {href: '#/offers'}, t('offer.title')),
        h('a', {href: '#/me/family'}, t('family.title')),
        h('a', {href: '#/me/notifications'}, t('prefs.title'))),
      h('section', {class: 'card'}, h('p', {class: 'small muted'}, t('me.large_hint')), signOut));
  },
};
