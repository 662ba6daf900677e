// One task: the answers and materials this matter uses, then claim, complete with the outputs
// the matter issues, reject with a reason, or ask the citizen for a supplement.
import {busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {buildForm} from '../../shared/form.js';
import {dateTime, label, t} from '../../shared/i18n.js';
import {statusChip} from './common.js';

async function materialPreview(ctx, material, task, name) {
  const link = await ctx.api.post(`/workbench/materials/${encodeURIComponent(material.id)}/links`, {task: task.id});
  let meta = null;
  try {
    meta = await ctx.api.get(`/materials/${encodeURIComponent(material.id)}`, {params: {task: task.id}});
  } catch {
    meta = null;
  }
  const isImage = meta && /^image\//.test(meta.content_type || '');
  return h('div', {class: 'material', dataset: {material: material.id, type: material.type}},
    isImage ? h('img', {src: link.url, alt: t('task.material_alt', {name}), class: 'material-preview'}) : h('span', {class: 'status status-waiting'}, 'PDF'),
    h('div', {},
      h('strong', {}, meta && meta.type_name ? meta.type_name : name), h('br'),
      meta ? h('span', {class: 'small muted'}, `${meta.content_type || ''} · ${Math.round((meta.size || 0) / 1024)} KB`) : null, h('br'),
      h('a', {href: link.url, target: '_blank', rel: 'noopener noreferrer'}, t('task.open_material')),
      h('span', {class: 'small muted'}, ` ${t('task.link_expires', {at: dateTime(link.expires_at)})}`)));
}

export default {
  title: () => t('task.title'),
  async render(view, params, ctx, alive) {
    const path = `/workbench/tasks/${encodeURIComponent(params.id)}`;
    let task = await ctx.api.get(path);
    const definition = await ctx.api.get(`/bundles/${encodeURIComponent(task.application.bundle)}`, {
      params: {version: task.application.bundle_version}}).catch(() => null);
    if (!alive()) return;
    const status = notice();
    const materialNames = new Map((definition?.materials || []).map((m) => [m.code, m.name]));
    const outputNames = new Map((definition?.steps || []).flatMap((s) => s.outputs || []).map((o) => [o.name, o.label]));
    const materialName = (code) => materialNames.get(code) || code;
    const fieldSpecs = new Map((definition?.form || []).map((f) => [f.name, f]));
    const answer = (name, value) => {
      const spec = fieldSpecs.get(name);
      if (spec && spec.choice_labels && spec.choice_labels[value]) return spec.choice_labels[value];
      if (typeof value === 'boolean') return t(value ? 'form.yes' : 'form.no');
      return String(value);
    };
    const outputName = (code) => outputNames.get(code) || code;

    async function draw() {
      const app = task.application;
      document.title = `${task.name} · ${ctx.appTitle()}`;
      const answers = Object.entries(app.form || {});
      const materials = h('div', {id: 'materials'}, h('p', {class: 'muted'}, t('common.loading')));
      const actions = h('section', {class: 'card', 'aria-labelledby': 'actions-heading', id: 'actions'});
      replace(view,
        h('p', {}, h('a', {href: '#/tasks'}, `← ${t('queue.title')}`)),
        h('div', {class: 'spread'}, h('h1', {}, task.name), statusChip(task.status)),
        status,
        h('div', {class: 'grid-2'},
          h('div', {},
            h('section', {class: 'card', 'aria-labelledby': 'app-heading'},
              h('h2', {id: 'app-heading'}, t('task.application')),
              h('dl', {class: 'pairs'},
                h('dt', {}, t('task.bundle')), h('dd', {}, app.bundle_name),
                h('dt', {}, t('task.subject')), h('dd', {class: 'subject-name'}, app.subject ? `${app.subject.name || '—'} (${label('relation', app.subject.relation || app.subject.kind)})` : '—'),
                h('dt', {}, t('task.channel')), h('dd', {}, label('channel', app.channel || 'app')),
                h('dt', {}, t('task.received')), h('dd', {}, dateTime(app.created_at)),
                h('dt', {}, t('task.due')), h('dd', {}, task.due_at ? dateTime(task.due_at) : '—', task.overdue ? h('span', {class: 'status status-overdue'}, ` ${t('queue.overdue')}`) : null),
                task.waiting_for && task.waiting_for.length ? [h('dt', {}, t('task.waiting_for')), h('dd', {}, task.waiting_for.join(', '))] : null,
                task.reason ? [h('dt', {}, t('task.reason')), h('dd', {}, task.reason)] : null)),
            h('section', {class: 'card', 'aria-labelledby': 'answers-heading'},
              h('h2', {id: 'answers-heading'}, t('task.answers')),
              answers.length ? h('dl', {class: 'pairs', id: 'answers'}, answers.flatMap(([k, v]) => [
                h('dt', {}, (app.form_labels || {})[k] || k), h('dd', {}, answer(k, v))])) : h('p', {class: 'muted'}, t('task.no_answers'))),
            Object.keys(task.inputs || {}).length ? h('section', {class: 'card', 'aria-labelledby': 'inputs-heading'},
              h('h2', {id: 'inputs-heading'}, t('task.inputs')),
              h('dl', {class: 'pairs'}, Object.entries(task.inputs).flatMap(([k, v]) => [h('dt', {}, outputName(k)), h('dd', {}, String(v))]))) : null,
            Object.keys(task.outputs || {}).length ? h('section', {class: 'card', 'aria-labelledby': 'outputs-heading'},
              h('h2', {id: 'outputs-heading'}, t('task.outputs')),
              h('dl', {class: 'pairs', id: 'outputs'}, Object.entries(task.outputs).flatMap(([k, v]) => [h('dt', {}, outputName(k)), h('dd', {}, String(v))]))) : null),
          h('div', {},
            actions,
            h('section', {class: 'card', 'aria-labelledby': 'materials-heading'},
              h('h2', {id: 'materials-heading'}, t('task.materials')), materials))));
      drawActions(actions);
      const items = app.materials || [];
      const previews = await Promise.all(items.map((m) => materialPreview(ctx, m, task, materialName(m.type)).catch((exc) => h('p', {class: 'field-error'}, `${materialName(m.type)}: ${explain(exc)}`))));
      if (!alive()) return;
      replace(materials, previews.length ? previews : h('p', {class: 'muted'}, t('task.no_materials')));
    }

    async function act(btn, url, body, done) {
      await busy(btn, async () => {
        status.say(null);
        try {
          task = await ctx.api.post(url, body);
          await draw();
          status.say(done, 'ok');
        } catch (exc) {
          if (exc.status === 422 && exc.errors) {
            status.say(`${exc.message} ${Object.entries(exc.errors).map(([k, v]) => `${k}: ${[].concat(v).join(' ')}`).join('；')}`, 'error');
          } else status.say(explain(exc), 'error');
          if (exc.status === 409) {
            task = await ctx.api.get(path);
            await draw();
            status.say(explain(exc), 'error');
          }
        }
      });
    }

    function drawActions(box) {
      const parts = [h('h2', {id: 'actions-heading'}, t('task.actions'))];
      if (task.status === 'pending') {
        const claim = h('button', {type: 'button', class: 'primary', id: 'claim'}, t('task.claim'));
        claim.addEventListener('click', () => act(claim, `${path}/claim`, undefined, t('task.claimed')));
        parts.push(h('p', {class: 'muted'}, t('task.claim_lead')), claim);
      } else if (task.status === 'claimed' && task.claimed_by_me) {
        const defs = (task.output_definitions || []).map((d) => ({...d, type: d.type || 'string'}));
        const outputs = buildForm(defs, {prefix: 'output'});
        const note = h('textarea', {name: 'note', rows: 2, maxlength: 2000});
        const complete = h('button', {type: 'submit', class: 'primary', id: 'complete'}, t('task.complete'));
        const completeForm = h('form', {novalidate: true, id: 'complete-form'},
          h('h3', {}, t('task.complete_title')),
          defs.length ? outputs.element : h('p', {class: 'muted'}, t('task.no_outputs')),
          field({label: `${t('task.note')} ${t('form.optional')}`, input: note, name: 'note', hint: t('task.note_hint')}),
          complete);
        completeForm.addEventListener('submit', (event) => {
          event.preventDefault();
          if (!outputs.check()) return;
          act(complete, `${path}/complete`, {outputs: outputs.values(), note: note.value.trim() || null}, t('task.completed'));
        });

        const reason = h('textarea', {name: 'reason', rows: 2, maxlength: 1000});
        const reasonBox = field({label: t('task.reject_reason'), input: reason, name: 'reason'});
        const reject = h('button', {type: 'submit', class: 'danger', id: 'reject'}, t('task.reject'));
        const rejectForm = h('form', {novalidate: true, id: 'reject-form'}, h('h3', {}, t('task.reject_title')), reasonBox, reject);
        rejectForm.addEventListener('submit', (event) => {
          event.preventDefault();
          if (!reason.value.trim()) {
            reasonBox.setError(t('form.required', {f: t('task.reject_reason')}));
            reason.focus();
            return;
          }
          if (!window.confirm(t('task.reject_confirm'))) return;
          act(reject, `${path}/reject`, {reason: reason.value.trim()}, t('task.rejected'));
        });

        const materialChecks = (task.application.materials || []).map((m) => {
          const input = h('input', {type: 'checkbox', value: m.type, id: `sup-m-${m.type}`});
          return {input, el: h('div', {class: 'checkbox'}, input, h('label', {for: `sup-m-${m.type}`}, materialName(m.type)))};
        });
        const fieldChecks = Object.keys(task.application.form || {}).map((name) => {
          const input = h('input', {type: 'checkbox', value: name, id: `sup-f-${name}`});
          return {input, el: h('div', {class: 'checkbox'}, input, h('label', {for: `sup-f-${name}`}, (task.application.form_labels || {})[name] || name))};
        });
        const supReason = h('textarea', {name: 'supplement-reason', rows: 2, maxlength: 1000});
        const supReasonBox = field({label: t('task.supplement_reason'), input: supReason, name: 'supplement-reason'});
        const ask = h('button', {type: 'submit', id: 'ask-supplement'}, t('task.supplement'));
        const supForm = h('form', {novalidate: true, id: 'supplement-form'}, h('h3', {}, t('task.supplement_title')),
          materialChecks.length ? h('fieldset', {}, h('legend', {}, t('task.supplement_materials')), materialChecks.map((c) => c.el)) : null,
          fieldChecks.length ? h('fieldset', {}, h('legend', {}, t('task.supplement_fields')), fieldChecks.map((c) => c.el)) : null,
          supReasonBox, ask);
        supForm.addEventListener('submit', (event) => {
          event.preventDefault();
          if (!supReason.value.trim()) {
            supReasonBox.setError(t('form.required', {f: t('task.supplement_reason')}));
            supReason.focus();
            return;
          }
          act(ask, `${path}/supplement-request`, {
            materials: materialChecks.filter((c) => c.input.checked).map((c) => c.input.value),
            fields: fieldChecks.filter((c) => c.input.checked).map((c) => c.input.value),
            reason: supReason.value.trim(),
          }, t('task.supplement_sent'));
        });
        parts.push(completeForm, h('hr'), supForm, h('hr'), rejectForm);
      } else if (task.status === 'claimed') {
        parts.push(h('p', {class: 'muted'}, t('task.claimed_by_other')));
      } else {
        parts.push(h('p', {class: 'muted'}, t('task.nothing_to_do', {status: label('status', task.status)})));
        if (task.completed_at) parts.push(h('p', {class: 'small'}, t('task.completed_at', {at: dateTime(task.completed_at)})));
      }
      replace(box, parts);
    }

    await draw();
  },
};
