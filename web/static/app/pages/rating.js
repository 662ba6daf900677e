// The rating prompt (好差评) of a finished application: a score from 5 非常满意 to 1 非常不满意
// and a comment, given once; then what was given, and the department's answer to a low score
// (a rectification), with one more rating once it is resolved.
import {busy, field, h, notice, replace} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {dateTime, label, t} from '../../shared/i18n.js';

const FINISHED = ['completed', 'rejected'];
const SCORES = [5, 4, 3, 2, 1];

function given(rating) {
  const r = rating.rectification;
  return h('div', {class: 'rating-given', dataset: {score: rating.score, round: rating.round}},
    h('p', {}, rating.matter ? [h('span', {class: 'muted'}, rating.matter.name), h('br')] : null,
      h('strong', {}, t('rating.you_gave', {label: rating.score_label || t(`rating.score_${rating.score}`)}))),
    rating.comment ? h('p', {class: 'rating-comment'}, rating.comment) : null,
    r ? h('div', {class: 'rectification small', dataset: {status: r.status}},
      h('p', {}, label('rating.rect', r.status)),
      r.reply ? h('p', {}, h('strong', {}, t('rating.reply')), r.reply.text, ' ', h('span', {class: 'muted'}, dateTime(r.reply.at))) : null,
      r.resolution ? h('p', {}, h('strong', {}, t('rating.resolution')), r.resolution.text) : null) : null);
}

function prompt(ctx, path, onDone) {
  const status = notice();
  const stars = h('fieldset', {class: 'stars', id: 'rating-score'},
    h('legend', {}, t('rating.score')),
    SCORES.map((n) => h('label', {}, h('input', {type: 'radio', name: 'score', value: n}), t(`rating.score_${n}`))));
  const comment = h('textarea', {name: 'comment', rows: 3, maxlength: 500});
  const commentBox = field({label: t('rating.comment'), input: comment, name: 'comment', hint: t('rating.comment_hint')});
  const send = h('button', {type: 'submit', class: 'primary', id: 'send-rating'}, t('rating.send'));
  const form = h('form', {id: 'rating-form', novalidate: true}, stars, commentBox, status, send);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = form.querySelector('input[name=score]:checked');
    if (!chosen) {
      status.say(t('rating.choose'), 'error');
      return;
    }
    busy(send, async () => {
      try {
        await ctx.api.post(`${path}/ratings`, {score: Number(chosen.value), comment: comment.value.trim() || undefined});
        await onDone(t('rating.thanks'));
      } catch (exc) {
        if (exc.error === 'already_rated') await onDone();
        else status.say(exc.status === 422 ? Object.values(exc.errors).flat().join(' ') || exc.message : explain(exc), 'error');
      }
    });
  });
  return form;
}

/** The rating card for an application; `update(app)` redraws it when the application changes. */
export function ratingCard(ctx, path) {
  const box = h('section', {class: 'card', id: 'rating', 'aria-labelledby': 'rating-heading', hidden: true});
  let shownFor = null;
  async function load(said) {
    const ratings = await ctx.api.get(`${path}/ratings`);
    const whole = ratings.filter((r) => !r.task);
    const latest = whole[whole.length - 1] || null;
    replace(box, h('h2', {id: 'rating-heading'}, t('rating.title')),
      said ? h('p', {class: 'notice notice-ok', role: 'status'}, said) : null,
      ratings.map(given),
      !latest || latest.may_rate_again ? prompt(ctx, path, load) : null);
    box.hidden = false;
  }
  return {
    element: box,
    async update(app, {fresh = false} = {}) {
      if (!FINISHED.includes(app.status)) return;
      if (shownFor === app.status && !fresh) return;
      shownFor = app.status;
      await load();
    },
  };
}
