// One application, live: the graph lights up as each department finishes (server-sent events,
// no reload), the ETA, the timeline, a supplement request answered in place.
import {add, busy, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {buildForm} from '../../shared/form.js';
import {dateTime, label, relative, t} from '../../shared/i18n.js';
import {drawGraph, updateGraph} from '../../shared/graph.js';
import {progressOf, statusChip} from './common.js';
import {ratingCard} from './rating.js';
import {uploadBox} from '../../shared/upload.js';

function taskNodes(tasks) {
  return tasks.map((task) => ({
    key: task.matter, title: task.name, subtitle: task.department_name, needs: task.depends_on || [],
    status: task.status, statusText: label('status', task.status),
  }));
}

function outputsList(task, names) {
  const entries = Object.entries(task.outputs || {});
  if (!entries.length) return null;
  return h('dl', {class: 'pairs small'}, entries.flatMap(([k, v]) => [h('dt', {}, names.get(k) || k), h('dd', {}, String(v))]));
}

export default {
  title: () => t('application.title'),
  async render(view, params, ctx, alive) {
    const path = `/applications/${encodeURIComponent(params.id)}`;
    let app = await ctx.api.get(path);
    const definition = await ctx.cached(`/bundles/${encodeURIComponent(app.bundle)}`).catch(() => null);
    const outputNames = new Map((definition?.steps || []).flatMap((s) => s.outputs || []).map((o) => [o.name, o.label]));
    if (!alive()) return undefined;

    const header = h('section', {class: 'card'});
    const graphBox = h('div', {id: 'application-graph'});
    const tasksList = h('ul', {class: 'plain', id: 'tasks'});
    const supplementBox = h('div', {id: 'supplement'});
    const timelineBox = h('ol', {class: 'timeline', id: 'timeline'});
    const live = h('p', {class: 'visually-hidden', 'aria-live': 'polite', id: 'live-announcer'});
    const actions = h('div', {class: 'row'});
    const rating = ratingCard(ctx, path);
    add(view, header, rating.element, supplementBox,
      h('section', {class: 'card', 'aria-labelledby': 'progress-heading'},
        h('h2', {id: 'progress-heading'}, t('application.departments')), graphBox, tasksList),
      h('section', {class: 'card', 'aria-labelledby': 'timeline-heading'},
        h('h2', {id: 'timeline-heading'}, t('application.timeline')), timelineBox),
      actions, live);

    let graph = null;
    function draw() {
      document.title = `${app.bundle_name} · ${ctx.appTitle()}`;
      const {done, total} = progressOf(app);
      replace(header,
        h('h1', {}, app.bundle_name),
        h('p', {}, statusChip(app.status), ' ', h('span', {id: 'progress-text'}, t('application.progress', {done, total}))),
        app.subject && app.subject.name ? h('p', {class: 'subject-name'}, t('application.for', {name: app.subject.name})) : null,
        h('dl', {class: 'pairs small'},
          h('dt', {}, t('application.submitted')), h('dd', {}, dateTime(app.created_at)),
          app.completed_at
            ? [h('dt', {}, t('application.completed_at')), h('dd', {id: 'completed-at'}, dateTime(app.completed_at))]
            : app.eta ? [h('dt', {}, t('application.eta')), h('dd', {id: 'eta'}, `${dateTime(app.eta)} (${relative(app.eta)})`)] : null),
        app.reason ? h('p', {class: 'notice notice-error'}, app.reason) : null);
      const statuses = Object.fromEntries(app.tasks.map((task) => [task.matter, {status: task.status, statusText: label('status', task.status)}]));
      if (graph) updateGraph(graph, statuses);
      else {
        graph = drawGraph(taskNodes(app.tasks), {
          label: t('application.graph_label', {done, total}), minWidth: ctx.large() ? 300 : 360, idPrefix: 'app',
        });
        graphBox.append(graph);
      }
      graph.setAttribute('aria-label', t('application.graph_label', {done, total}));
      replace(tasksList, app.tasks.map((task) => h('li', {class: 'task-row', dataset: {matter: task.matter, status: task.status}},
        h('div', {class: 'spread'}, h('span', {}, h('strong', {}, task.department_name), ' · ', task.name), statusChip(task.status)),
        task.completed_at ? h('p', {class: 'small muted'}, t('application.done_at', {at: dateTime(task.completed_at)})) : null,
        task.due_at && !task.completed_at ? h('p', {class: task.overdue ? 'small status-overdue' : 'small muted'}, t('application.due', {at: dateTime(task.due_at)})) : null,
        task.reason ? h('p', {class: 'small'}, task.reason) : null,
        ctx.large() ? null : outputsList(task, outputNames))));
      drawSupplement();
      replace(actions, !['completed', 'rejected', 'withdrawn'].includes(app.status) && !app.tasks.some((x) => x.status === 'completed')
        ? h('button', {type: 'button', class: 'danger', id: 'withdraw', onclick: (e) => withdraw(e.currentTarget)}, t('application.withdraw'))
        : null);
    }

    let supplementId = null;
    function drawSupplement() {
      const request = app.supplement;
      if (!request) {
        supplementId = null;
        replace(supplementBox);
        return;
      }
      if (supplementId === request.id) return; // keep what the citizen is typing
      supplementId = request.id;
      const fields = (request.fields || []).map((f) => ({...f, required: true, type: f.type || 'string'}));
      const form = buildForm(fields, {prefix: 'supplement'});
      const boxes = (request.materials || []).map((m) => uploadBox({ctx, type: m.code, name: m.name, status: 'needed'}));
      const status = notice();
      const send = h('button', {type: 'submit', class: 'primary', id: 'send-supplement'}, t('supplement.send'));
      const card = h('form', {class: 'card notice-warn', id: 'supplement-form', novalidate: true, 'aria-labelledby': 'supplement-heading'},
        h('h2', {id: 'supplement-heading'}, t('supplement.title')),
        h('ul', {}, (request.reasons || []).map((r) => h('li', {}, h('strong', {}, r.department.name), t('common.colon'), r.reason))),
        fields.length ? form.element : null, boxes, status, send);
      card.addEventListener('submit', (event) => {
        event.preventDefault();
        busy(send, async () => {
          await Promise.all(boxes.map((b) => b.pending).filter(Boolean));
          if (!form.check()) return;
          const missing = boxes.filter((b) => !b.materialId);
          missing.forEach((b) => b.setError(t('supplement.material_missing')));
          if (missing.length) return;
          try {
            app = await ctx.api.post(`${path}/supplements`, {materials: boxes.map((b) => b.materialId), form: form.values()});
            status.say(t('supplement.sent'), 'ok');
            supplementId = null;
            draw();
            loadTimeline();
            live.textContent = t('supplement.sent');
          } catch (exc) {
            if (exc.status === 422) {
              const rest = form.showErrors(exc.errors);
              status.say(Object.values(rest).join(' ') || exc.message, 'error');
            } else status.say(explain(exc), 'error');
          }
        });
      });
      replace(supplementBox, card);
    }

    async function loadTimeline() {
      const events = await ctx.api.get(`${path}/timeline`);
      if (!alive()) return;
      replace(timelineBox, events.map((e) => h('li', {dataset: {type: e.type}},
        h('time', {datetime: e.at}, dateTime(e.at)), h('span', {}, e.text))));
    }

    async function withdraw(btn) {
      if (!window.confirm(t('application.withdraw_confirm'))) return;
      await busy(btn, async () => {
        try {
          app = await ctx.api.post(`${path}/withdraw`);
          draw();
          loadTimeline();
        } catch (exc) {
          window.alert(explain(exc));
        }
      });
    }

    async function refresh(announce, ratingsChanged = false) {
      const before = new Map(app.tasks.map((task) => [task.id, task.status]));
      app = await ctx.api.get(path);
      if (!alive()) return;
      draw();
      await Promise.all([loadTimeline(), rating.update(app, {fresh: ratingsChanged})]);
      if (announce) {
        const changed = app.tasks.filter((task) => before.get(task.id) !== task.status);
        if (changed.length) live.textContent = changed.map((x) => `${x.department_name}${t('common.colon')}${label('status', x.status)}`).join(t('common.list_separator'));
      }
    }

    draw();
    await Promise.all([loadTimeline(), rating.update(app)]);
    let timer = null;
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(() => refresh(true).catch(() => null), 150);
    };
    const offs = [
      ctx.bus.on('notification', (n) => {
        if (n.application && n.application !== app.id) return;
        if (String(n.type).startsWith('rectification_')) rating.update(app, {fresh: true}).catch(() => null);
        else schedule();
      }),
      ctx.bus.on('stream-open', schedule), // whatever happened while the stream was away
    ];
    return () => {
      offs.forEach((off) => off());
      clearTimeout(timer);
    };
  },
};
