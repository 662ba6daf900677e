// The officer's queue: counts by status (and a chart of them), filters, overdue first, paging.
import {barChart} from '../../shared/chart.js';
import {add, field, h, replace} from '../../shared/dom.js';
import {dateTime, label, relative, t} from '../../shared/i18n.js';
import {paged, statusChip} from './common.js';

const STATUSES = ['pending', 'claimed', 'needs_supplement', 'completed', 'rejected'];
const PAGE_SIZE = 20;

export default {
  title: () => t('queue.title'),
  async render(view, params, ctx, alive) {
    const filters = {status: params.query.get('status') || '', bundle: '', overdue: false, mine: false, page: 1};
    const countsBox = h('div', {class: 'tabs', role: 'group', 'aria-label': t('queue.by_status')});
    const chartBox = h('div', {class: 'card'});
    const table = h('div', {id: 'queue-table', 'aria-live': 'polite'});
    const pager = h('div', {class: 'pager'});
    const bundles = await ctx.api.get('/bundles').catch(() => []);
    if (!alive()) return undefined;
    const bundle = h('select', {name: 'bundle'}, h('option', {value: ''}, t('queue.all_bundles')), bundles.map((b) => h('option', {value: b.code}, b.name)));
    const overdue = h('input', {type: 'checkbox', id: 'filter-overdue'});
    const mine = h('input', {type: 'checkbox', id: 'filter-mine'});
    const refresh = h('button', {type: 'button', id: 'refresh-queue'}, t('queue.refresh'));
    bundle.addEventListener('change', () => { filters.bundle = bundle.value; filters.page = 1; load(); });
    overdue.addEventListener('change', () => { filters.overdue = overdue.checked; filters.page = 1; load(); });
    mine.addEventListener('change', () => { filters.mine = mine.checked; filters.page = 1; load(); });
    refresh.addEventListener('click', () => load());

    add(view, h('div', {class: 'spread'}, h('h1', {}, t('queue.title')), refresh),
      countsBox,
      h('div', {class: 'grid-3'},
        h('section', {'aria-labelledby': 'queue-list-heading'},
          h('h2', {id: 'queue-list-heading', class: 'visually-hidden'}, t('queue.list')),
          h('div', {class: 'card filters'},
            field({label: t('queue.bundle'), input: bundle, name: 'bundle'}),
            h('div', {class: 'checkbox'}, overdue, h('label', {for: 'filter-overdue'}, t('queue.only_overdue'))),
            h('div', {class: 'checkbox'}, mine, h('label', {for: 'filter-mine'}, t('queue.only_mine')))),
          table, pager),
        h('section', {'aria-labelledby': 'chart-heading'}, h('h2', {id: 'chart-heading'}, t('queue.chart')), chartBox)));

    async function counts() {
      const found = await ctx.api.get('/workbench/tasks/counts', {params: {bundle: filters.bundle || undefined}});
      const {open, overdue: overdueCount} = found;
      const by = STATUSES.map((s) => found.by_status[s] ?? 0);
      if (!alive()) return;
      const tabs = [{key: '', text: t('queue.open'), n: open}, ...STATUSES.map((s, i) => ({key: s, text: label('status', s), n: by[i]}))];
      replace(countsBox, ...tabs.map((tab) => h('button', {
        type: 'button', class: 'chip', 'aria-pressed': filters.status === tab.key ? 'true' : 'false', dataset: {status: tab.key || 'open', count: tab.n},
        onclick: () => { filters.status = tab.key; filters.page = 1; load(); },
      }, `${tab.text} (${tab.n})`)),
      h('p', {class: 'small muted', dataset: {finishedSince: found.finished_since}}, t('queue.finished_since', {since: dateTime(found.finished_since)})));
      replace(chartBox, barChart([
        ...STATUSES.map((s, i) => ({key: s, label: label('status', s), value: by[i]})),
        {key: 'overdue', label: t('queue.overdue'), value: overdueCount},
      ], {label: t('queue.chart_label', {open, overdue: overdueCount}), width: 340, labelWidth: 110, barHeight: 30}));
    }

    async function list() {
      const response = await ctx.api.request('GET', '/workbench/tasks', {
        full: true,
        params: {
          status: filters.status || undefined, bundle: filters.bundle || undefined,
          overdue: filters.overdue ? true : undefined, mine: filters.mine ? true : undefined,
          page: filters.page, page_size: PAGE_SIZE,
        },
      });
      if (!alive()) return;
      const {items, total, page, pages} = paged(response);
      // Overdue first, then the server's order (most urgent first).
      const rows = [...items].sort((a, b) => Number(b.overdue) - Number(a.overdue));
      replace(table, rows.length ? h('table', {class: 'card'},
        h('caption', {class: 'visually-hidden'}, t('queue.list')),
        h('thead', {}, h('tr', {}, ['queue.matter', 'queue.application', 'queue.status', 'queue.due', 'queue.released'].map((k) => h('th', {scope: 'col'}, t(k))))),
        h('tbody', {}, rows.map((task) => h('tr', {class: task.overdue ? 'overdue' : '', dataset: {task: task.id, matter: task.matter, status: task.status}},
          h('td', {}, h('a', {href: `#/tasks/${encodeURIComponent(task.id)}`, class: 'task-link'}, task.name)),
          h('td', {}, task.application.bundle_name, h('br'), h('span', {class: 'small muted'}, task.application.id)),
          h('td', {}, statusChip(task.status), task.claimed_by_me ? h('span', {class: 'small muted'}, ` ${t('queue.mine')}`) : null),
          h('td', {}, task.overdue ? h('span', {class: 'status status-overdue'}, t('queue.overdue')) : null, ' ', task.due_at ? `${dateTime(task.due_at)} (${relative(task.due_at)})` : '—'),
          h('td', {}, dateTime(task.released_at))))))
        : h('p', {class: 'card muted'}, t('queue.empty')));
      replace(pager,
        h('button', {type: 'button', disabled: page <= 1, onclick: () => { filters.page -= 1; load(); }}, t('common.previous')),
        h('span', {}, t('queue.page', {page, pages, total})),
        h('button', {type: 'button', disabled: page >= pages, onclick: () => { filters.page += 1; load(); }}, t('common.next')));
    }

    async function load() {
      await Promise.all([counts(), list()]);
    }
    await load();
    const timer = setInterval(() => { if (!document.hidden) load().catch(() => null); }, 10000);
    return () => clearInterval(timer);
  },
};
