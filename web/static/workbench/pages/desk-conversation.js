// One conversation at the service desk: the transcript, the citizen's applications that bear on
// it, claim (another agent may have been quicker: said in words), write, close. Read again every
// few seconds while shown, so what the citizen writes appears without a reload.
import {add, busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, label, t} from '../../shared/i18n.js';
import {statusChip} from './common.js';
import {POLL_MS, citizenName} from './desk.js';

export default {
  title: () => t('desk.conversation'),
  async render(view, params, ctx, alive) {
    const path = `/workbench/conversations/${encodeURIComponent(params.id)}`;
    let conversation = await ctx.api.get(path);
    if (!alive()) return undefined;
    const header = h('section', {class: 'card'});
    const transcript = h('ol', {class: 'chat', id: 'transcript', 'aria-live': 'polite'});
    const apps = h('section', {class: 'card', 'aria-labelledby': 'desk-apps'});
    const actions = h('div', {class: 'actions', id: 'desk-actions'});
    const said = notice();
    const text = h('textarea', {name: 'text', rows: 3, maxlength: 2000});
    const box = field({label: t('desk.write'), input: text, name: 'desk-text'});
    const send = h('button', {type: 'submit', class: 'primary', id: 'desk-send'}, t('desk.send'));
    const writer = h('form', {id: 'desk-writer', novalidate: true}, box, send);
    add(view, h('p', {}, h('a', {href: '#/desk'}, t('desk.back'))), header, said,
      h('section', {class: 'card', 'aria-labelledby': 'transcript-heading'}, h('h2', {id: 'transcript-heading'}, t('desk.transcript')), transcript, writer),
      actions, apps);

    function draw() {
      const c = conversation;
      replace(header,
        h('h1', {}, h('span', {class: 'citizen-name'}, citizenName(c.citizen))),
        h('p', {class: 'desk-meta'},
          h('span', {class: 'status status-pending', id: 'desk-status'}, c.position ? t('desk.position', {n: c.position}) : label('desk', c.status)),
          c.citizen && c.citizen.phone ? h('span', {}, c.citizen.phone) : null,
          c.reason ? h('span', {}, label('desk.reason', c.reason)) : null,
          c.held_by_me ? h('span', {}, t('desk.held_by_me')) : null),
        c.words ? h('p', {}, c.words) : null);
      const shown = transcript.children.length;
      replace(transcript, (c.messages || []).map((m) => h('li', {class: `from-${m.author}`, dataset: {author: m.author}},
        h('span', {class: 'small muted'}, `${label('author', m.author)} · ${dateTime(m.at)}`), h('br'), m.text)));
      if (transcript.children.length > shown && transcript.lastElementChild) transcript.lastElementChild.scrollIntoView({block: 'nearest'});
      writer.hidden = !(c.status === 'with_staff' && c.held_by_me);
      const buttons = [];
      if (c.status === 'waiting_for_staff') buttons.push(h('button', {type: 'button', class: 'primary', id: 'desk-claim', onclick: (e) => act(e.currentTarget, 'claim')}, t('desk.claim')));
      if (c.status !== 'closed' && (c.held_by_me || c.status === 'waiting_for_staff')) {
        buttons.push(h('button', {type: 'button', id: 'desk-close', onclick: (e) => act(e.currentTarget, 'close')}, t('desk.close')));
      }
      replace(actions, buttons);
      replace(apps, h('h2', {id: 'desk-apps'}, t('desk.applications')),
        (c.applications || []).length ? h('ul', {class: 'plain'}, c.applications.map((a) => h('li', {class: 'desk-app'},
          h('div', {class: 'spread'}, h('strong', {}, a.bundle_name), statusChip(a.status)),
          a.subject && a.subject.name ? h('p', {class: 'small subject-name'}, a.subject.name) : null,
          a.reason ? h('p', {class: 'small'}, a.reason) : null,
          h('ul', {class: 'small'}, (a.tasks || []).map((task) => h('li', {}, `${task.department_name} · ${task.name}: `, label('status', task.status), task.overdue ? ` · ${t('queue.overdue')}` : '')))))) : h('p', {class: 'muted'}, t('desk.no_applications')));
    }

    async function act(btn, action) {
      await busy(btn, async () => {
        try {
          conversation = await ctx.api.post(`${path}/${action}`);
          said.say(t(`desk.${action}_done`), 'ok');
          draw();
          if (action === 'claim') text.focus();
        } catch (exc) {
          said.say(explain(exc), 'error');
          conversation = await ctx.api.get(path).catch(() => conversation);
          draw();
        }
      });
    }

    writer.addEventListener('submit', (event) => {
      event.preventDefault();
      const words = text.value.trim();
      if (!words) {
        box.setError(t('form.required'));
        return;
      }
      busy(send, async () => {
        try {
          conversation = await ctx.api.post(`${path}/messages`, {text: words});
          text.value = '';
          box.setError('');
          draw();
        } catch (exc) {
          box.setError(explain(exc));
        }
      });
    });

    draw();
    const timer = setInterval(async () => {
      if (document.hidden) return;
      try {
        const fresh = await ctx.api.get(path);
        if (!alive()) return;
        const changed = fresh.updated_at !== conversation.updated_at || (fresh.messages || []).length !== (conversation.messages || []).length || fresh.position !== conversation.position;
        conversation = fresh;
        if (changed) draw();
      } catch { /* the next round tries again */ }
    }, POLL_MS);
    return () => clearInterval(timer);
  },
};
