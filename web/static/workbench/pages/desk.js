// The service desk (role agent): conversations the assistant handed over in the agent's region,
// the longest waiting first. The API offers no event stream to staff, so the list is read again
// every few seconds while the page is shown (a short poll).
import {add, h, replace} from '../../shared/dom.js';
import {dateTime, label, relative, t} from '../../shared/i18n.js';
import {paged} from './common.js';

const TABS = [
  {key: 'waiting', params: {status: 'waiting_for_staff'}},
  {key: 'mine', params: {status: 'with_staff', mine: true}},
  {key: 'with_staff', params: {status: 'with_staff'}},
  {key: 'closed', params: {status: 'closed'}},
];
export const POLL_MS = 4000;

export function citizenName(citizen) {
  return (citizen && citizen.name) || t('desk.no_name');
}

export default {
  title: () => t('desk.title'),
  async render(view, params, ctx, alive) {
    let tab = TABS.find((x) => x.key === params.query.get('tab')) || TABS[0];
    const tabs = h('div', {class: 'tabs', role: 'group', 'aria-label': t('desk.by_status')});
    const list = h('div', {id: 'desk-queue'});
    add(view, h('h1', {}, t('desk.title')), h('p', {class: 'muted'}, t('desk.lead')), tabs, list);

    async function load() {
      const response = await ctx.api.request('GET', '/workbench/conversations', {full: true, params: {...tab.params, page_size: 50}});
      if (!alive()) return;
      const {items, total} = paged(response);
      replace(tabs, TABS.map((x) => h('button', {
        type: 'button', class: 'chip', 'aria-pressed': x === tab ? 'true' : 'false', dataset: {tab: x.key},
        onclick: () => { tab = x; load(); },
      }, x === tab ? `${t(`desk.tab_${x.key}`)} (${total})` : t(`desk.tab_${x.key}`))));
      replace(list, items.length ? h('ol', {class: 'plain'}, items.map((c) => h('li', {},
        h('a', {href: `#/desk/${encodeURIComponent(c.id)}`, class: 'card desk-item', dataset: {conversation: c.id, status: c.status}},
          h('span', {class: 'spread'},
            h('strong', {class: 'citizen-name'}, citizenName(c.citizen)),
            h('span', {class: `status status-${c.flagged ? 'overdue' : 'pending'}`}, c.position ? t('desk.position', {n: c.position}) : label('desk', c.status))),
          c.words ? h('span', {class: 'small desk-words'}, c.words) : null,
          h('span', {class: 'small muted desk-meta'},
            c.reason ? h('span', {}, label('desk.reason', c.reason)) : null,
            c.waiting_since ? h('span', {}, t('desk.waiting_since', {at: dateTime(c.waiting_since), ago: relative(c.waiting_since)})) : null,
            c.after_hours ? h('span', {}, t('desk.after_hours')) : null,
            c.flagged ? h('span', {}, t('desk.flagged')) : null)))))
        : h('p', {class: 'card muted'}, t('desk.empty')));
    }
    await load();
    const timer = setInterval(() => { if (!document.hidden) load().catch(() => null); }, POLL_MS);
    return () => clearInterval(timer);
  },
};
