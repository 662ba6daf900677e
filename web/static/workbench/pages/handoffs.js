// Citizens who asked the assistant for a person: claim one, help them, close it.
import {add, busy, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, label, t} from '../../shared/i18n.js';
import {paged, pagerButtons} from './common.js';

const STATUSES = ['open', 'claimed', 'closed'];

export default {
  title: () => t('handoffs.title'),
  async render(view, params, ctx, alive) {
    let status = 'open';
    const tabs = h('div', {class: 'tabs', role: 'group', 'aria-label': t('queue.by_status')});
    const list = h('div', {id: 'handoffs'});
    const pager = h('div', {class: 'pager'});
    const said = notice();
    add(view, h('h1', {}, t('handoffs.title')), tabs, said, list, pager);
    let page = 1;
    async function load() {
      const answer = paged(await ctx.api.request('GET', '/workbench/handoffs', {params: {status, page, page_size: 20}, full: true}));
      if (!alive()) return;
      const {items} = answer;
      replace(tabs, STATUSES.map((s) => h('button', {type: 'button', class: 'chip', 'aria-pressed': s === status ? 'true' : 'false', onclick: () => { status = s; page = 1; load(); }}, label('handoff', s))));
      replace(pager, answer.pages > 1 ? pagerButtons(answer, (p) => { page = p; load(); }) : null);
      replace(list, items.length ? items.map((item) => {
        const actions = [];
        if (item.status === 'open') {
          const claim = h('button', {type: 'button', class: 'primary'}, t('handoffs.claim'));
          claim.addEventListener('click', () => busy(claim, async () => {
            try { await ctx.api.post(`/workbench/handoffs/${encodeURIComponent(item.id)}/claim`); await load(); } catch (exc) { said.say(explain(exc), 'error'); }
          }));
          actions.push(claim);
        }
        if (item.status === 'claimed') {
          const close = h('button', {type: 'button'}, t('handoffs.close'));
          close.addEventListener('click', () => busy(close, async () => {
            try { await ctx.api.post(`/workbench/handoffs/${encodeURIComponent(item.id)}/close`); await load(); } catch (exc) { said.say(explain(exc), 'error'); }
          }));
          actions.push(close);
        }
        return h('article', {class: 'card', dataset: {handoff: item.id}},
          h('div', {class: 'spread'}, h('h2', {}, t('handoffs.item', {at: dateTime(item.created_at)})), h('span', {class: 'status status-pending'}, label('handoff', item.status))),
          item.reason ? h('p', {}, item.reason) : null,
          h('ol', {class: 'small'}, (item.transcript || []).map((turn) => h('li', {}, h('strong', {}, `${label('author', turn.role)}: `), turn.text))),
          h('div', {class: 'actions'}, actions));
      }) : h('p', {class: 'card muted'}, t('handoffs.empty')));
    }
    await load();
  },
};
