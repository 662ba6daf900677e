// The station clerk applies for a citizen who is present: the citizen's texted code is their
// consent; the clerk scans originals into the citizen's vault, fills the joint form, applies.
import {newKey} from '../../shared/api.js';
import {add, busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {buildForm} from '../../shared/form.js';
import {dateTime, t} from '../../shared/i18n.js';
import {uploadBox} from '../../shared/upload.js';
import {statusChip} from './common.js';

export default {
  title: () => t('station.title'),
  async render(view, params, ctx, alive) {
    const bundles = await ctx.api.get('/bundles');
    if (!alive()) return;
    let consent = null; // kept in memory only, for this page
    let phoneNumber = '';
    const steps = h('div', {});
    add(view, h('h1', {}, t('station.title')), h('p', {class: 'muted'}, t('station.lead')), steps);

    // 1. The citizen's phone: a consent code is texted to them.
    const phone = h('input', {type: 'tel', name: 'phone', maxlength: 11, inputmode: 'numeric'});
    const phoneBox = field({label: t('station.phone'), input: phone, name: 'phone'});
    const code = h('input', {type: 'text', name: 'code', maxlength: 6, inputmode: 'numeric', autocomplete: 'one-time-code'});
    const codeBox = field({label: t('station.code'), input: code, name: 'code', hint: t('station.code_hint')});
    codeBox.hidden = true;
    const hint = h('p', {class: 'dev-hint', hidden: true, id: 'consent-debug-code'});
    const consentStatus = notice();
    const send = h('button', {type: 'button', id: 'send-consent'}, t('station.send_code'));
    const verify = h('button', {type: 'button', class: 'primary', id: 'verify-consent', hidden: true}, t('station.verify'));
    const consentCard = h('section', {class: 'card', 'aria-labelledby': 'consent-heading'},
      h('h2', {id: 'consent-heading'}, t('station.step_consent')), phoneBox, send, hint, codeBox, verify, consentStatus);
    const applyCard = h('section', {class: 'card', 'aria-labelledby': 'assist-heading', hidden: true});
    const resultCard = h('section', {class: 'card', id: 'assisted-result', hidden: true, 'aria-live': 'polite'});
    steps.append(consentCard, applyCard, resultCard);

    send.addEventListener('click', () => busy(send, async () => {
      phoneBox.setError(null);
      phoneNumber = phone.value.replace(/\D/g, '');
      if (!/^1[3-9]\d{9}$/.test(phoneNumber)) {
        phoneBox.setError(t('signin.phone_invalid'));
        phone.focus();
        return;
      }
      try {
        const sent = await ctx.api.post('/workbench/assisted-applications/consent', {phone: phoneNumber});
        consentStatus.say(t('station.code_sent', {phone: sent.phone}), 'ok');
        if (sent.debug_code) {
          hint.textContent = t('signin.debug_code', {code: sent.debug_code});
          hint.hidden = false;
        }
        codeBox.hidden = false;
        verify.hidden = false;
        code.focus();
      } catch (exc) {
        consentStatus.say(explain(exc), 'error');
      }
    }));

    verify.addEventListener('click', () => busy(verify, async () => {
      codeBox.setError(null);
      try {
        const granted = await ctx.api.post('/workbench/assisted-applications/consent/verify', {phone: phoneNumber, code: code.value.trim()});
        consent = granted.consent;
        consentStatus.say(t('station.consented', {minutes: Math.round(granted.expires_in / 60)}), 'ok');
        verify.hidden = true;
        send.disabled = true;
        phone.readOnly = true;
        code.readOnly = true;
        drawApply();
      } catch (exc) {
        codeBox.setError(explain(exc));
        code.focus();
      }
    }));

    // 2. The life event, the joint form, the scans of originals, then apply.
    const bundleSelect = h('select', {name: 'bundle', id: 'station-bundle'}, bundles.map((b) => h('option', {value: b.code}, b.name)));
    let drawing = 0;
    async function drawApply() {
      const mine = ++drawing;
      applyCard.hidden = false;
      const definition = await ctx.api.get(`/bundles/${encodeURIComponent(bundleSelect.value)}`);
      if (mine !== drawing || !alive()) return; // another life event was chosen meanwhile
      const fields = definition.form.map((f) => (f.prefill ? {...f, required: false} : f));
      const form = buildForm(fields, {prefix: 'assisted'});
      for (const f of definition.form.filter((x) => x.prefill)) {
        const input = form.element.querySelector(`[name="${CSS.escape(f.name)}"]`);
        if (input) input.setAttribute('placeholder', t('station.prefill_placeholder'));
      }
      const uploader = (p, fd, opts) => ctx.api.upload(p, fd, opts);
      const scans = definition.materials.map((m) => uploadBox({
        ctx, type: m.code, name: m.name, status: 'needed', path: '/workbench/assisted-applications/scans',
        extra: {consent}, uploader,
      }));
      const originals = definition.materials.map((m) => {
        const input = h('input', {type: 'checkbox', value: m.code, id: `original-${m.code}`});
        return {input, el: h('div', {class: 'checkbox'}, input, h('label', {for: `original-${m.code}`}, m.name))};
      });
      const subject = h('select', {name: 'subject', id: 'station-subject'},
        h('option', {value: ''}, t('station.subject_natural')),
        h('option', {value: 'self'}, t('apply.subject_self')),
        h('option', {value: 'newborn'}, t('apply.subject_newborn')));
      const status = notice();
      const submit = h('button', {type: 'submit', class: 'primary', id: 'assisted-submit'}, t('station.apply'));
      const key = {value: newKey()};
      const formEl = h('form', {novalidate: true, id: 'assisted-form'},
        field({label: t('station.subject'), input: subject, name: 'subject'}),
        h('h3', {}, t('apply.form')), h('p', {class: 'hint'}, t('station.prefill_hint')), form.element,
        h('h3', {}, t('station.scans')), h('p', {class: 'hint'}, t('station.scans_hint')), scans,
        h('fieldset', {}, h('legend', {}, t('station.originals')), originals.map((o) => o.el)),
        status, submit);
      formEl.addEventListener('submit', (event) => {
        event.preventDefault();
        busy(submit, async () => {
          status.say(null);
          await Promise.all(scans.map((s) => s.pending).filter(Boolean));
          if (!form.check()) return;
          const body = {
            consent, bundle: definition.code, form: form.values(),
            materials: scans.map((s) => s.materialId).filter(Boolean),
            originals_checked: originals.filter((o) => o.input.checked).map((o) => o.input.value),
          };
          if (subject.value) body.subject = {kind: subject.value};
          try {
            const made = await ctx.api.post('/workbench/assisted-applications', body, {headers: {'Idempotency-Key': key.value}});
            key.value = newKey();
            resultCard.hidden = false;
            replace(resultCard,
              h('h2', {}, t('station.applied')),
              h('dl', {class: 'pairs'},
                h('dt', {}, t('task.bundle')), h('dd', {}, made.bundle_name),
                h('dt', {}, t('task.subject')), h('dd', {class: 'subject-name'}, made.subject_name || '—'),
                h('dt', {}, t('station.citizen')), h('dd', {}, made.citizen_phone || ''),
                h('dt', {}, t('queue.status')), h('dd', {}, statusChip(made.status)),
                made.eta ? [h('dt', {}, t('application.eta')), h('dd', {}, dateTime(made.eta))] : null),
              h('ul', {}, made.tasks.map((x) => h('li', {}, `${x.department_name} · ${x.matter_name} · `, statusChip(x.status)))));
            applyCard.hidden = true;
            resultCard.setAttribute('tabindex', '-1');
            resultCard.focus();
          } catch (exc) {
            if (exc.status === 422 && exc.errors) {
              const rest = form.showErrors(exc.errors);
              status.say(Object.values(rest).join(' ') || exc.message, 'error');
            } else status.say(explain(exc), 'error');
          }
        });
      });
      replace(applyCard, h('h2', {id: 'assist-heading'}, t('station.step_apply')),
        field({label: t('station.bundle'), input: bundleSelect, name: 'bundle'}), formEl);
    }
    bundleSelect.addEventListener('change', () => drawApply());
  },
};
