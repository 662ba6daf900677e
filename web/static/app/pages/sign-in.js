// Sign in with phone and SMS code; the first sign-in creates the account.
import {add, busy, field, h, notice} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {getLocale, t} from '../../shared/i18n.js';

export function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/';
}

export default {
  title: () => t('signin.title'),
  async render(view, params, ctx) {
    const next = safeNext(params.query.get('next'));
    const phone = h('input', {type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: 11, name: 'phone'});
    const code = h('input', {type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, name: 'code'});
    const phoneBox = field({label: t('signin.phone'), input: phone, name: 'phone', hint: t('signin.phone_hint')});
    const codeBox = field({label: t('signin.code'), input: code, name: 'code'});
    const status = notice();
    const hint = h('p', {class: 'dev-hint', hidden: true, id: 'dev-code-hint'});
    codeBox.hidden = true;
    const send = h('button', {type: 'button', id: 'send-code'}, t('signin.send_code'));
    const submit = h('button', {type: 'submit', class: 'primary', id: 'sign-in', hidden: true}, t('signin.submit'));

    send.addEventListener('click', () => busy(send, async () => {
      phoneBox.setError(null);
      const number = phone.value.replace(/\D/g, '');
      if (!/^1[3-9]\d{9}$/.test(number)) {
        phoneBox.setError(t('signin.phone_invalid'));
        phone.focus();
        return;
      }
      try {
        const sent = await ctx.api.post('/auth/otp', {phone: number});
        status.say(t('signin.code_sent', {n: Math.round(sent.expires_in / 60)}), 'ok');
        if (sent.debug_code) {
          hint.textContent = t('signin.debug_code', {code: sent.debug_code});
          hint.hidden = false;
        }
        codeBox.hidden = false;
        submit.hidden = false;
        code.focus();
      } catch (exc) {
        if (exc.errors && exc.errors.phone) phoneBox.setError(exc.errors.phone.join(' '));
        else status.say(explain(exc), 'error');
      }
    }));

    const form = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'signin-heading'},
      h('h1', {id: 'signin-heading'}, t('signin.title')),
      h('p', {class: 'muted'}, t('signin.lead')),
      phoneBox, send, hint, codeBox, status, submit);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, async () => {
        codeBox.setError(null);
        if (!/^\d{6}$/.test(code.value.trim())) {
          codeBox.setError(t('signin.code_invalid'));
          code.focus();
          return;
        }
        try {
          const tokens = await ctx.api.post('/auth/login', {phone: phone.value.replace(/\D/g, ''), code: code.value.trim()});
          ctx.session.set(tokens);
          ctx.me = null;
          ctx.api.patch('/me', {locale: getLocale()}).catch(() => null);
          ctx.navigate(next, {replace: true});
        } catch (exc) {
          codeBox.setError(explain(exc));
          code.focus();
        }
      });
    });
    add(view, form);
  },
};
