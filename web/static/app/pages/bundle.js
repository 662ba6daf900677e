// A life event: its departments and matters as a dependency graph, time limits, materials.
import {add, h} from '../../shared/dom.js';
import {drawGraph} from '../../shared/graph.js';
import {limit, t} from '../../shared/i18n.js';
import {figures} from './common.js';

export function stepNodes(steps, statuses) {
  return steps.map((step) => {
    const status = statuses ? statuses[step.matter] : null;
    return {
      key: step.matter, title: step.name, subtitle: step.department_name, needs: step.depends_on || [],
      status: status || undefined, statusText: status ? t(`status.${status}`) : undefined,
    };
  });
}

export default {
  title: () => t('bundle.title'),
  async render(view, params, ctx, alive) {
    const bundle = await ctx.cached(`/bundles/${encodeURIComponent(params.code)}`);
    let checklist = null;
    if (ctx.signedIn()) {
      checklist = await ctx.api.get(`/bundles/${encodeURIComponent(params.code)}/checklist`).catch(() => null);
    }
    if (!alive()) return;
    document.title = `${bundle.name} · ${ctx.appTitle()}`;
    const names = new Map(bundle.steps.map((s) => [s.matter, s.name]));
    const items = checklist ? checklist.items : bundle.materials;
    add(view, 
      h('section', {class: 'card'},
        h('h1', {}, bundle.name),
        h('p', {}, bundle.description),
        figures(bundle.figures.before, bundle.figures.after),
        h('p', {class: 'small muted'}, t('bundle.figures_note', {
          departments: bundle.departments.length, matters: bundle.steps.length,
        })),
        h('a', {class: 'button primary', href: `#/bundles/${encodeURIComponent(bundle.code)}/apply`, id: 'apply-link'}, t('bundle.apply'))),
      h('section', {class: 'card', 'aria-labelledby': 'graph-heading'},
        h('h2', {id: 'graph-heading'}, t('bundle.graph')),
        h('p', {class: 'small muted'}, t('bundle.graph_lead')),
        drawGraph(stepNodes(bundle.steps), {
          label: t('bundle.graph_label', {matters: bundle.steps.length, departments: bundle.departments.length}),
          minWidth: ctx.large() ? 300 : 360, idPrefix: 'bundle',
        })),
      h('section', {class: 'card', 'aria-labelledby': 'steps-heading'},
        h('h2', {id: 'steps-heading'}, t('bundle.steps')),
        h('ol', {class: 'steps-list'}, bundle.steps.map((step) => h('li', {},
          h('strong', {}, step.name), h('br'),
          h('span', {class: 'muted small'}, step.department_name), h('br'),
          h('span', {class: 'small'}, t('bundle.promised', {limit: limit(step.promised)})),
          step.statutory ? h('span', {class: 'small muted'}, ` · ${t('bundle.statutory', {limit: limit(step.statutory)})}`) : null,
          step.depends_on && step.depends_on.length
            ? h('span', {class: 'small muted'}, h('br'), t('bundle.after', {names: step.depends_on.map((m) => names.get(m) || m).join(t('common.list_separator'))}))
            : null)))),
      h('section', {class: 'card', 'aria-labelledby': 'materials-heading'},
        h('h2', {id: 'materials-heading'}, t('bundle.materials')),
        checklist
          ? h('p', {class: 'small'}, t('bundle.checklist_summary', {on_file: checklist.on_file, needed: checklist.needed}))
          : h('p', {class: 'small muted'}, h('a', {href: `#/sign-in?next=${encodeURIComponent(`/bundles/${bundle.code}`)}`}, t('bundle.sign_in_checklist'))),
        h('ul', {class: 'plain checklist'}, items.map((m) => h('li', {dataset: {material: m.code}},
          h('span', {}, m.name, m.issued_by ? h('span', {class: 'small muted'}, ` (${t('bundle.elicence')})`) : null),
          m.status ? h('span', {class: `status status-${m.status === 'on_file' ? 'completed' : 'waiting'}`}, t(`checklist.${m.status}`)) : null)))));
  },
};
