// Family members: the people I may apply for (a child, a parent) and my spouse; an entry naming
// another verified citizen (or a child other citizens hold) waits for their yes, and the
// requests others make of me are answered here.
import {add, busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {idNumberProblem} from '../../shared/form.js';
import {label, t} from '../../shared/i18n.js';

const RELATIONS = ['spouse', 'child', 'parent', 'grandparent', 'grandchild', 'sibling', 'other'];

export default {
  title: () => t('family.title'),
  async render(view, params, ctx, alive) {
    const list = h('ul', {class: 'plain', id: 'family-list'});
    const status = notice();
    const asks = h('ul', {class: 'plain', id: 'family-requests'});
    const asksStatus = notice();
    const asksCard = h('section', {class: 'card', hidden: true, 'aria-labelledby': 'requests-heading'},
      h('h2', {id: 'requests-heading'}, t('family.requests_title')), asks, asksStatus);
    add(view, h('h1', {}, t('family.title')), asksCard, h('section', {class: 'card'}, list, status));

    async function loadRequests() {
      const waiting = await ctx.api.get('/me/family/requests');
      if (!alive()) return;
      asksCard.hidden = !waiting.length;
      replace(asks, waiting.map((r) => {
        const who = {name: (r.requester && r.requester.name) || '?', id: (r.requester && r.requester.id_number) || '',
          relation: label('relation', r.relation), member: r.member ? r.member.name : ''};
        const text = t(r.awaiting === 'guardians' ? 'family.request_guardians' : 'family.request_citizen', who);
        const answer = (verb, done) => {
          const button = h('button', {type: 'button', class: verb === 'confirm' ? 'primary chip' : 'danger chip'}, t(`family.${verb}`));
          button.addEventListener('click', () => busy(button, async () => {
            try {
              await ctx.api.post(`/me/family/requests/${encodeURIComponent(r.id)}/${verb}`);
              asksStatus.say(t(done), 'ok');
              await loadRequests();
            } catch (exc) {
              asksStatus.say(explain(exc), 'error');
            }
          }));
          return button;
        };
        return h('li', {class: 'spread family-request', dataset: {request: r.id}},
          h('span', {}, text), h('span', {}, answer('confirm', 'family.confirmed'), ' ', answer('decline', 'family.declined')));
      }));
    }

    function statusText(m) {
      if (m.status === 'pending') return t(m.awaiting === 'guardians' ? 'family.status_pending_guardians' : 'family.status_pending_citizen');
      if (m.status === 'declined') return t('family.status_declined');
      return '';
    }

    async function load() {
      const members = await ctx.api.get('/me/family');
      if (!alive()) return;
      replace(list, members.length ? members.map((m) => {
        const remove = h('button', {type: 'button', class: 'danger chip', 'aria-label': t('family.remove_named', {name: m.name})}, t('family.remove'));
        remove.addEventListener('click', () => busy(remove, async () => {
          if (!window.confirm(t('family.remove_confirm', {name: m.name}))) return;
          try {
            await ctx.api.del(`/me/family/${encodeURIComponent(m.id)}`);
            status.say(t('family.removed'), 'ok');
            await load();
          } catch (exc) {
            status.say(explain(exc), 'error');
          }
        }));
        return h('li', {class: 'spread family-member', dataset: {member: m.id}},
          h('span', {},
            h('strong', {class: 'member-name'}, m.name), ' ', h('span', {class: 'muted small'}, label('relation', m.relation)),
            h('br'), h('span', {class: 'small muted'}, [m.id_number, m.birth_date].filter(Boolean).join(' · ')),
            statusText(m) ? [h('br'), h('span', {class: 'small member-status'}, statusText(m))] : []),
          remove);
      }) : h('li', {class: 'muted'}, t('family.empty')));
    }

    const relation = h('select', {name: 'relation'}, RELATIONS.map((r) => h('option', {value: r, selected: r === 'child'}, label('relation', r))));
    const name = h('input', {type: 'text', name: 'name', maxlength: 100, autocomplete: 'off'});
    const idNumber = h('input', {type: 'text', name: 'id_number', maxlength: 18});
    const birth = h('input', {type: 'date', name: 'birth_date'});
    const gender = h('select', {name: 'gender'}, h('option', {value: ''}, t('form.choose')),
      ['male', 'female'].map((g) => h('option', {value: g}, label('gender', g))));
    const boxes = {
      relation: field({label: t('family.relation'), input: relation, name: 'relation'}),
      name: field({label: t('family.name'), input: name, name: 'name'}),
      id_number: field({label: `${t('family.id_number')} ${t('form.optional')}`, input: idNumber, name: 'id_number'}),
      birth_date: field({label: `${t('family.birth_date')} ${t('form.optional')}`, input: birth, name: 'birth_date', hint: t('family.birth_hint')}),
      gender: field({label: `${t('family.gender')} ${t('form.optional')}`, input: gender, name: 'gender'}),
    };
    const addButton = h('button', {type: 'submit', class: 'primary', id: 'add-member'}, t('family.add'));
    const addStatus = notice();
    const form = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'add-heading', id: 'family-form'},
      h('h2', {id: 'add-heading'}, t('family.add_title')), Object.values(boxes), addStatus, addButton);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(addButton, async () => {
        Object.values(boxes).forEach((b) => b.setError(null));
        if (!name.value.trim()) {
          boxes.name.setError(t('form.required', {f: t('family.name')}));
          name.focus();
          return;
        }
        const id = idNumber.value.trim().toUpperCase();
        if (id && idNumberProblem(id)) {
          boxes.id_number.setError(idNumberProblem(id));
          idNumber.focus();
          return;
        }
        const body = {relation: relation.value, name: name.value.trim()};
        if (id) body.id_number = id;
        if (birth.value) body.birth_date = birth.value;
        if (gender.value) body.gender = gender.value;
        try {
          const made = await ctx.api.post('/me/family', body);
          form.reset();
          relation.value = 'child';
          addStatus.say(t(made && made.status === 'pending' ? 'family.added_pending' : 'family.added'), 'ok');
          await load();
        } catch (exc) {
          if (exc.status === 422 && exc.errors && Object.keys(exc.errors).some((k) => boxes[k])) {
            for (const [k, v] of Object.entries(exc.errors)) if (boxes[k]) boxes[k].setError([].concat(v).join(' '));
          } else addStatus.say(explain(exc), 'error');
        }
      });
    });
    add(view, form);
    await Promise.all([load(), loadRequests()]);
  },
};
