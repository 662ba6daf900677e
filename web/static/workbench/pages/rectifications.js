// Rectification cases (整改) of the officer's department in their region: every rating of 2 or
// less opens one. Read what the citizen said, answer them (open → replied), then say what
// changed (replied → resolved). Due first; overdue ones marked.
import {add, busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, label, relative, t} from '../../shared/i18n.js';
import {paged} from './common.js';

const STATUSES = ['open', 'replied', 'resolved'];
const NEXT = {open: 'reply', replied: 'resolve'};
const CHIP = {open: 'pending', replied: 'claimed', resolved: 'completed'}; // the queue's colours

function words(titleKey, said) {
  if (!said) return null;
  return h('div', {class: 'said'}, h('h3', {}, t(titleKey)), h('p', {}, said.text), h('p', {class: 'small muted'}, dateTime(said.at)));
}

export default {
  title: () => t('rect.title'),
  async render(view, params, ctx, alive) {
    let status = params.query.get('status') || 'open';
    const tabs = h('div', {class: 'tabs', role: 'group', 'aria-label': t('rect.by_status')});
    const list = h('div', {id: 'rectifications', 'aria-live': 'polite'});
    const said = notice();
    add(view, h('h1', {}, t('rect.title')), h('p', {class: 'muted'}, t('rect.lead')), tabs, said, list);

    function caseCard(item) {
      const action = NEXT[item.status];
      let form = null;
      if (action) {
        const text = h('textarea', {name: 'text', rows: 3, maxlength: 1000, required: true});
        const box = field({label: t(`rect.${action}_label`), input: text, name: `${action}-${item.id}`});
        const send = h('button', {type: 'submit', class: 'primary', dataset: {action}}, t(`rect.${action}`));
        form = h('form', {class: 'rect-form', novalidate: true}, box, send);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          if (!text.value.trim()) {
            box.setError(t('form.required'));
            return;
          }
          busy(send, async () => {
            try {
              await ctx.api.post(`/workbench/rectifications/${encodeURIComponent(item.id)}/${action}`, {text: text.value.trim()});
              said.say(t(`rect.${action}_done`), 'ok');
              await load();
            } catch (exc) {
              box.setError(exc.status === 422 ? Object.values(exc.errors).flat().join(' ') || exc.message : explain(exc));
            }
          });
        });
      }
      return h('article', {class: 'card rectification', dataset: {case: item.id, status: item.status}, 'aria-labelledby': `case-${item.id}`},
        h('div', {class: 'spread'},
          h('h2', {id: `case-${item.id}`}, item.matter ? item.matter.name : item.bundle),
          h('span', {class: `status status-${item.overdue ? 'overdue' : CHIP[item.status]}`}, item.overdue ? t('queue.overdue') : label('rect', item.status))),
        h('p', {}, h('strong', {class: 'score', dataset: {score: item.score}}, t('rect.score', {score: item.score, label: item.score_label})),
          (item.tags || []).length ? ` · ${item.tags.map((x) => x.label).join(t('common.list_separator'))}` : ''),
        item.comment ? h('blockquote', {class: 'rating-comment'}, item.comment) : h('p', {class: 'muted small'}, t('rect.no_comment')),
        h('dl', {class: 'pairs small'},
          h('dt', {}, t('rect.opened')), h('dd', {}, dateTime(item.opened_at)),
          h('dt', {}, t('rect.due')), h('dd', {}, `${dateTime(item.due_at)} (${relative(item.due_at)})`),
          h('dt', {}, t('queue.application')), h('dd', {}, item.application)),
        words('rect.reply_given', item.reply), words('rect.resolution_given', item.resolution), form);
    }

    async function load() {
      const response = await ctx.api.request('GET', '/workbench/rectifications', {full: true, params: {status, page_size: 50}});
      if (!alive()) return;
      const {items, total} = paged(response);
      replace(tabs, STATUSES.map((s) => h('button', {
        type: 'button', class: 'chip', 'aria-pressed': s === status ? 'true' : 'false', dataset: {status: s},
        onclick: () => { status = s; said.say(''); load(); },
      }, s === status ? `${label('rect', s)} (${total})` : label('rect', s))));
      replace(list, items.length ? items.map(caseCard) : h('p', {class: 'card muted'}, t('rect.empty')));
    }
    await load();
  },
};
