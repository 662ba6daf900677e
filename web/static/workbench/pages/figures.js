// The reform's figures and citizens' ratings for the officer's region (and department), as
// charts drawn by our own SVG code: before → after of each life event, how long each took to
// finish, how citizens rated. Public aggregates only: no person and no comment.
import {barChart, pairedBarChart} from '../../shared/chart.js';
import {add, h} from '../../shared/dom.js';
import {t} from '../../shared/i18n.js';

const percent = (share) => (share === null || share === undefined ? '—' : `${Math.round(share * 1000) / 10}%`);
const number = (n) => (n === null || n === undefined ? '—' : String(n));

function section(id, title, ...children) {
  return h('section', {class: 'card', 'aria-labelledby': id, id: `${id}-section`}, h('h2', {id}, title), ...children);
}

export default {
  title: () => t('figures.title'),
  async render(view, params, ctx, alive) {
    const user = ctx.user();
    const region = user.region || undefined;
    const department = user.role === 'officer' ? user.department : undefined;
    const [reform, bundles, ratings] = await Promise.all([
      ctx.api.get('/stats/reform', {params: {region}}),
      ctx.api.get('/bundles'),
      ctx.api.get('/stats/ratings', {params: {region, department}}),
    ]);
    const perBundle = await Promise.all(bundles.map((b) => ctx.api.get('/stats/reform', {params: {region, bundle: b.code}}).catch(() => null)));
    if (!alive()) return;

    const where = [region ? t('figures.region', {region}) : t('figures.province'), department ? t('figures.department', {department}) : null].filter(Boolean).join(' · ');
    const totals = [
      ['applications', number(reform.applications)], ['completed', number(reform.completed)],
      ['median', reform.median_minutes_to_complete === null ? '—' : t('figures.minutes', {n: reform.median_minutes_to_complete})],
      ['within_hour', percent(reform.completed_within_hour_share)],
      ['forms_saved', number(reform.forms_saved)], ['materials_saved', number(reform.materials_saved)],
      ['trips_saved', number(reform.trips_saved)], ['satisfaction', reform.ratings ? percent(reform.satisfaction) : '—'],
    ];
    const beforeAfter = (kind) => pairedBarChart(
      bundles.map((b) => ({key: b.code, label: b.name, values: {before: b.figures_before?.[kind] ?? 0, after: b.figures_after?.[kind] ?? 0}})),
      [{key: 'before', label: t('figures.before')}, {key: 'after', label: t('figures.after')}],
      {label: t(`figures.${kind}_chart`, {items: bundles.map((b) => `${b.name} ${b.figures_before?.[kind] ?? '—'} → ${b.figures_after?.[kind] ?? '—'}`).join(t('common.list_separator'))}), width: 760, labelWidth: 250});
    const timed = bundles.map((b, i) => ({b, f: perBundle[i]})).filter(({f}) => f && f.completed);
    const scores = ['5', '4', '3', '2', '1'];

    add(view,
      h('h1', {}, t('figures.title')), h('p', {class: 'muted', id: 'figures-where'}, where),
      section('totals-heading', t('figures.totals'),
        h('dl', {class: 'figures-grid', id: 'reform-totals'}, totals.map(([k, v]) => h('div', {class: 'figure', dataset: {figure: k}}, h('dt', {}, t(`figures.${k}`)), h('dd', {}, v))))),
      section('before-after-heading', t('figures.before_after'),
        h('h3', {}, t('figure.materials')), beforeAfter('materials'),
        h('h3', {}, t('figure.forms')), beforeAfter('forms')),
      section('times-heading', t('figures.times'),
        timed.length ? pairedBarChart(
          timed.map(({b, f}) => ({key: b.code, label: b.name, values: {median: f.median_minutes_to_complete ?? 0, p90: f.p90_minutes_to_complete ?? 0}})),
          [{key: 'median', label: t('figures.median_short')}, {key: 'p90', label: t('figures.p90_short')}],
          {label: t('figures.times_chart', {items: timed.map(({b, f}) => t('figures.time_item', {name: b.name, median: f.median_minutes_to_complete, p90: f.p90_minutes_to_complete})).join(t('common.list_separator'))}), width: 760, labelWidth: 250})
          : h('p', {class: 'muted'}, t('figures.no_times'))),
      section('ratings-heading', t('figures.ratings'),
        h('p', {id: 'ratings-summary'}, t('figures.ratings_summary', {count: ratings.count, satisfaction: ratings.count ? percent(ratings.satisfaction) : '—'})),
        barChart(scores.map((s) => ({key: `score-${s}`, label: t(`rating.score_${s}`), value: ratings.by_score?.[s] ?? 0})),
          {label: t('figures.ratings_chart', {items: scores.map((s) => `${t(`rating.score_${s}`)} ${ratings.by_score?.[s] ?? 0}`).join(t('common.list_separator'))}), width: 760, labelWidth: 200})));
  },
};
