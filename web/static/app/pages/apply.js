// Apply for a life event: real name if needed, whom it is for, the joint form, the materials,
// then one tap (with an Idempotency-Key, so a second tap or a retry makes no second application).
import {newKey} from '../../shared/api.js';
import {add, busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {buildForm} from '../../shared/form.js';
import {label, t} from '../../shared/i18n.js';
import {uploadBox} from '../../shared/upload.js';

function prefillKnown(spec, {me, spouse, subject}) {
  const [who, what] = (spec.prefill || '').split('.');
  const person = who === 'applicant' ? (me.real_name_verified ? me : null)
    : who === 'spouse' ? spouse : who === 'subject' ? subject : null;
  if (who === 'applicant' && what === 'phone') return me.phone || null;
  if (!person) return null;
  if (what === 'gender' && person.gender) return label('gender', person.gender);
  return person[what] || null;
}

export function realNameCard(ctx, onDone) {
  const name = h('input', {type: 'text', name: 'name', autocomplete: 'name', maxlength: 100});
  const idNumber = h('input', {type: 'text', name: 'id_number', maxlength: 18, autocapitalize: 'characters'});
  const nameBox = field({label: t('realname.name'), input: name, name: 'name'});
  const idBox = field({label: t('realname.id_number'), input: idNumber, name: 'id_number', hint: t('realname.id_hint')});
  const status = notice();
  const submit = h('button', {type: 'submit', class: 'primary', id: 'verify-real-name'}, t('realname.submit'));
  const form = h('form', {class: 'card', novalidate: true, id: 'real-name-form', 'aria-labelledby': 'realname-heading'},
    h('h2', {id: 'realname-heading'}, t('realname.title')),
    h('p', {class: 'muted'}, t('realname.lead')),
    nameBox, idBox, status, submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      nameBox.setError(null);
      idBox.setError(null);
      try {
        await ctx.api.post('/me/real-name', {name: name.value.trim(), id_number: idNumber.value.trim().toUpperCase()});
        await ctx.profile({fresh: true});
        onDone();
      } catch (exc) {
        if (exc.errors && (exc.errors.name || exc.errors.id_number)) {
          if (exc.errors.name) nameBox.setError(exc.errors.name.join(' '));
          if (exc.errors.id_number) idBox.setError(exc.errors.id_number.join(' '));
        } else if (exc.status === 422) {
          idBox.setError(exc.message);
        } else {
          status.say(explain(exc), 'error');
        }
      }
    });
  });
  return form;
}

export default {
  title: () => t('apply.title'),
  async render(view, params, ctx, alive) {
    const code = encodeURIComponent(params.code);
    const offerId = params.query.get('offer');
    const [bundle, me, listed, offers] = await Promise.all([
      ctx.cached(`/bundles/${code}`), ctx.profile({fresh: true}), ctx.api.get('/me/family'),
      offerId ? ctx.api.get('/me/offers', {params: {status: 'open'}}) : []]);
    if (!alive()) return undefined;
    // An entry waiting for its citizen's (or the child's guardians') yes cannot be put in a form.
    const family = listed.filter((m) => !m.status || m.status === 'confirmed');
    // Completing an offer: its answers are shown as known (the server fills them in under
    // mine), whom it is for is the offer's, and sending accepts it.
    const offer = offers.find((o) => o.id === offerId && o.bundle === params.code) || null;
    document.title = `${t('apply.title')} · ${bundle.name} · ${ctx.appTitle()}`;
    add(view, h('h1', {}, t('apply.heading', {name: bundle.name})),
      offer ? h('p', {class: 'notice notice-info', id: 'offer-lead'}, t('apply.from_offer')) : null);

    const needsRealName = bundle.form.some((f) => (f.prefill || '').startsWith('applicant.') && f.prefill !== 'applicant.phone');
    if (needsRealName && !me.real_name_verified) {
      add(view, realNameCard(ctx, () => ctx.navigate(`/bundles/${params.code}/apply`, {replace: true})));
      return undefined;
    }

    const spouse = family.find((m) => m.relation === 'spouse') || null;
    const subjectPrefills = bundle.form.filter((f) => (f.prefill || '').startsWith('subject.')).map((f) => f.prefill);
    const newbornPossible = subjectPrefills.includes('subject.name') && subjectPrefills.includes('subject.birth_date');
    const choices = [];
    if (subjectPrefills.length && !offer) {
      if (newbornPossible) choices.push({value: 'newborn', text: t('apply.subject_newborn')});
      for (const m of family.filter((f) => f.relation !== 'spouse')) {
        choices.push({value: `family:${m.id}`, text: `${m.name} (${label('relation', m.relation)})`, member: m});
      }
      choices.push({value: 'self', text: t('apply.subject_self')});
    }
    let subjectValue = bundle.life_event === 'birth' && newbornPossible ? 'newborn'
      : (choices.find((c) => c.member && c.member.minor) || choices[0] || {value: 'self'}).value;

    const idempotencyKey = {value: newKey()}; // one per submission; kept on retry
    const formCard = h('section', {class: 'card', 'aria-labelledby': 'form-heading'});
    const materialsCard = h('section', {class: 'card', 'aria-labelledby': 'materials-heading', id: 'materials'});
    const summary = notice('error');
    const submit = h('button', {type: 'submit', class: 'primary', id: 'submit-application'}, t('apply.submit'));
    const boxes = new Map();
    let form = null;
    let checklist = null;

    const subjectSelect = h('select', {name: 'subject', id: 'subject'},
      choices.map((c) => h('option', {value: c.value, selected: c.value === subjectValue}, c.text)));
    const subjectOf = () => {
      if (offer) return offer.subject;
      if (subjectValue === 'newborn') return {kind: 'newborn'};
      if (subjectValue.startsWith('family:')) return {kind: 'family', id: subjectValue.slice(7)};
      return {kind: 'self'};
    };
    const subjectPerson = () => {
      if (subjectValue === 'self') return me.real_name_verified ? me : null;
      const chosen = choices.find((c) => c.value === subjectValue);
      return chosen && chosen.member ? chosen.member : null;
    };

    async function drawMaterials() {
      const subject = subjectOf();
      checklist = await ctx.api.get(`/bundles/${code}/checklist`, {params: {subject: subject.kind === 'family' ? subject.id : undefined}});
      boxes.forEach((box) => box.cleanup());
      boxes.clear();
      replace(materialsCard,
        h('h2', {id: 'materials-heading'}, t('apply.materials')),
        h('p', {class: 'small muted'}, t('apply.materials_lead', {on_file: checklist.on_file, needed: checklist.needed})),
        checklist.items.map((item) => {
          const box = uploadBox({ctx, type: item.code, name: item.name, status: item.status});
          boxes.set(item.code, box);
          return box;
        }));
    }

    function drawForm() {
      const fromOffer = (spec) => {
        const value = offer && offer.prefill ? offer.prefill[spec.name] : null;
        if (value === null || value === undefined || value === '') return null;
        return String((spec.choice_labels || {})[value] || value);
      };
      form = buildForm(bundle.form, {known: (spec) => prefillKnown(spec, {me, spouse, subject: subjectPerson()}) || fromOffer(spec)});
      replace(formCard,
        h('h2', {id: 'form-heading'}, t('apply.form')),
        h('p', {class: 'small muted'}, t('apply.form_lead', {n: bundle.form.length})),
        choices.length ? field({label: t('apply.subject'), input: subjectSelect, name: 'subject'}) : null,
        form.element);
    }

    subjectSelect.addEventListener('change', async () => {
      subjectValue = subjectSelect.value;
      drawForm();
      await drawMaterials();
    });

    drawForm();
    await drawMaterials();
    if (!alive()) return undefined;

    const page = h('form', {novalidate: true, id: 'apply-form'}, formCard, materialsCard,
      h('div', {class: 'sticky-submit'}, summary, submit));
    page.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, async () => {
        summary.say(null);
        await Promise.all([...boxes.values()].map((b) => b.pending).filter(Boolean));
        if (!form.check()) {
          summary.say(t('apply.fix_fields'), 'error');
          return;
        }
        const missing = checklist.items.filter((i) => i.status !== 'on_file' && !boxes.get(i.code).materialId);
        boxes.forEach((box) => box.setError(null));
        if (missing.length) {
          missing.forEach((i) => boxes.get(i.code).setError(t('apply.material_missing', {name: i.name})));
          summary.say(t('apply.add_materials', {names: missing.map((i) => i.name).join(t('common.list_separator'))}), 'error');
          boxes.get(missing[0].code).querySelector('input[type=file]').focus();
          return;
        }
        const body = {
          bundle: bundle.code, subject: subjectOf(), form: form.values(),
          materials: [...boxes.values()].map((b) => b.materialId).filter(Boolean),
        };
        try {
          const application = offer
            ? await ctx.api.post(`/me/offers/${encodeURIComponent(offer.id)}/accept`, {form: body.form, materials: body.materials}, {headers: {'Idempotency-Key': idempotencyKey.value}})
            : await ctx.api.post('/applications', body, {headers: {'Idempotency-Key': idempotencyKey.value}});
          idempotencyKey.value = newKey();
          ctx.navigate(`/applications/${encodeURIComponent(application.id)}`);
        } catch (exc) {
          if (exc.status === 422 && exc.errors) {
            const rest = form.showErrors(exc.errors);
            const words = Object.entries(rest).map(([key, m]) => {
              if (key.startsWith('materials')) {
                const box = boxes.get(key.split('.')[1]);
                if (box) box.setError(m);
              }
              return m;
            });
            summary.say(words.length ? words.join(' ') : exc.message, 'error');
          } else if (exc.status === 0) {
            summary.say(t('apply.retry'), 'error');
          } else {
            summary.say(explain(exc), 'error');
          }
        }
      });
    });
    add(view, page);
    return () => boxes.forEach((box) => box.cleanup());
  },
};
