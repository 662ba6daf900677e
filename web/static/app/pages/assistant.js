// The assistant: ask in your own words; it answers with text and cards (life events,
// checklists, status, questions, buttons) you can tap.
import {add, busy, field, h} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, getLocale, t} from '../../shared/i18n.js';

const KEY = 'onething.app.conversation';

function cardView(card, send) {
  const buttons = (card.buttons || card.choices || card.options || []);
  const parts = [];
  if (card.type === 'handoff') {
    // Where the citizen stands at the service desk: their place, and when people are there.
    parts.push(h('p', {class: 'small handoff-card', dataset: {position: card.position || 0}},
      card.status === 'with_staff' ? t('assistant.with_staff')
        : [t('assistant.queue_position', {n: card.position}), ' ',
          card.desk_open ? t('assistant.desk_open', {hours: card.hours}) : t('assistant.desk_closed', {hours: card.hours, back: dateTime(card.back_at)})]));
  } else if (card.type === 'bundle' && (card.code || card.bundle)) {
    const code = card.code || card.bundle;
    parts.push(h('a', {class: 'button', href: `#/bundles/${encodeURIComponent(code)}`}, card.name || card.title || code));
  } else if (card.type === 'status' && (card.application || card.application_id || card.id)) {
    const id = card.application || card.application_id || card.id;
    parts.push(h('a', {class: 'button', href: `#/applications/${encodeURIComponent(id)}`}, card.title || card.bundle_name || t('assistant.open_application')));
  } else if (card.title || card.text) {
    parts.push(h('p', {class: 'small'}, card.title || card.text));
  }
  if (Array.isArray(card.items)) {
    parts.push(h('ul', {class: 'small'}, card.items.slice(0, 8).map((item) => h('li', {},
      typeof item === 'string' ? item : [item.name || item.title || item.code || '', item.status ? ` · ${t(`checklist.${item.status}`)}` : '']))));
  }
  for (const b of buttons) {
    const text = typeof b === 'string' ? b : (b.label || b.text || b.value);
    const value = typeof b === 'string' ? b : (b.value || b.label || b.text);
    parts.push(h('button', {type: 'button', class: 'chip', onclick: () => send(String(value))}, String(text)));
  }
  return parts;
}

export default {
  title: () => t('assistant.title'),
  async render(view, params, ctx, alive) {
    const chat = h('ol', {class: 'chat', id: 'chat', 'aria-live': 'polite'});
    const input = h('input', {type: 'text', name: 'text', maxlength: 1000, autocomplete: 'off'});
    const box = field({label: t('assistant.ask'), input, name: 'text'});
    const sendButton = h('button', {type: 'submit', class: 'primary'}, t('assistant.send'));
    const form = h('form', {class: 'chat-form', novalidate: true}, box, sendButton);
    const deskStatus = h('p', {class: 'notice notice-info', id: 'desk-status', role: 'status', hidden: true});
    add(view, h('h1', {}, t('assistant.title')), h('p', {class: 'muted small'}, t('assistant.lead')), deskStatus, chat, form);
    let conversation = sessionStorage.getItem(KEY);

    const say = (role, text, cards, send) => {
      if (!text && !(cards && cards.length)) return;
      chat.append(h('li', {class: `from-${role}`},
        h('span', {class: 'visually-hidden'}, `${t(`assistant.${role}`)}: `), text,
        cards && cards.length ? h('div', {class: 'cards'}, cards.flatMap((c) => cardView(c, send))) : null));
      chat.lastElementChild.scrollIntoView({block: 'nearest'});
    };

    async function send(text) {
      if (!text.trim()) return;
      say('citizen', text);
      await busy(sendButton, async () => {
        try {
          const answer = await ctx.api.post('/assistant/messages', {text, locale: getLocale(), conversation_id: conversation || undefined});
          conversation = answer.conversation_id;
          sessionStorage.setItem(KEY, conversation);
          say('assistant', answer.reply.text, answer.reply.cards, send);
          if (answer.nlu && answer.nlu.intent === 'handoff_human') showStatus('waiting_for_staff');
        } catch (exc) {
          if (exc.status === 404 && conversation) {
            conversation = null;
            sessionStorage.removeItem(KEY);
          }
          say('assistant', explain(exc));
        }
      });
    }

    const showStatus = (status) => {
      const words = {waiting_for_staff: t('assistant.status_waiting'), with_staff: t('assistant.status_with_staff')}[status];
      deskStatus.textContent = words || '';
      deskStatus.hidden = !words;
    };
    async function reload() {
      const earlier = await ctx.api.get(`/assistant/conversations/${encodeURIComponent(conversation)}`);
      if (!alive()) return;
      chat.replaceChildren();
      for (const turn of earlier.turns || []) say(turn.role === 'citizen' ? 'citizen' : turn.role === 'staff' ? 'staff' : 'assistant', turn.text, turn.role === 'citizen' ? null : turn.cards, send);
      showStatus(earlier.status);
    }

    if (conversation) {
      try {
        await reload();
      } catch {
        conversation = null;
        sessionStorage.removeItem(KEY);
      }
    }
    if (!chat.children.length) say('assistant', t('assistant.hello'), [{type: 'buttons', buttons: [t('assistant.example1'), t('assistant.example2')]}], send);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value;
      input.value = '';
      send(text);
    });
    // A person at the service desk writes: it arrives on the event stream; the conversation is
    // read again so their words show here without a reload.
    let timer = null;
    const off = ctx.bus.on('notification', (n) => {
      if (n.type !== 'staff_message' || !conversation || (n.data && n.data.conversation && n.data.conversation !== conversation)) return;
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => null), 100);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  },
};
