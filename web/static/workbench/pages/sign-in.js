// Staff sign-in: officers, station clerks and administrators.
import {add, busy, field, h, notice} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {t} from '../../shared/i18n.js';

export default {
  title: () => t('wb.signin'),
  async render(view, params, ctx) {
    const username = h('input', {type: 'text', name: 'username', autocomplete: 'username', maxlength: 64});
    const password = h('input', {type: 'password', name: 'password', autocomplete: 'current-password', maxlength: 256});
    const status = notice();
    const submit = h('button', {type: 'submit', class: 'primary', id: 'staff-sign-in'}, t('signin.submit'));
    const form = h('form', {class: 'card signin', novalidate: true, 'aria-labelledby': 'wb-signin'},
      h('h1', {id: 'wb-signin'}, t('wb.signin')),
      h('p', {class: 'muted'}, t('wb.signin_lead')),
      field({label: t('wb.username'), input: username, name: 'username'}),
      field({label: t('wb.password'), input: password, name: 'password'}),
      status, submit);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, async () => {
        status.say(null);
        if (!username.value.trim() || !password.value) {
          status.say(t('wb.signin_missing'), 'error');
          return;
        }
        try {
          const tokens = await ctx.api.post('/auth/staff-login', {username: username.value.trim(), password: password.value});
          if (tokens.user.role === 'citizen') {
            status.say(t('error.forbidden'), 'error');
            return;
          }
          ctx.session.set(tokens);
          const next = params.query.get('next');
          ctx.navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : ctx.home(), {replace: true});
        } catch (exc) {
          password.value = '';
          status.say(explain(exc), 'error');
          password.focus();
        }
      });
    });
    add(view, form);
  },
};
