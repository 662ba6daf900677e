// How I am told: channels, and quiet hours when push waits for the morning (the inbox never does).
import {add, busy, field, h, notice} from '../../shared/dom.js';
import {explain} from '../../shared/errors.js';
import {t} from '../../shared/i18n.js';

export default {
  title: () => t('prefs.title'),
  async render(view, params, ctx, alive) {
    const prefs = await ctx.api.get('/me/notification-preferences');
    if (!alive()) return;
    const box = (name) => {
      const input = h('input', {type: 'checkbox', name, id: `channel-${name}`, checked: Boolean(prefs.channels[name])});
      return {input, el: h('div', {class: 'checkbox'}, input, h('label', {for: `channel-${name}`}, t(`prefs.${name}`)))};
    };
    const channels = {push: box('push'), miniprogram: box('miniprogram'), sms: box('sms')};
    const quiet = h('input', {type: 'checkbox', id: 'quiet-on', checked: Boolean(prefs.quiet_hours)});
    const start = h('input', {type: 'time', name: 'start', value: prefs.quiet_hours ? prefs.quiet_hours.start : '22:00'});
    const end = h('input', {type: 'time', name: 'end', value: prefs.quiet_hours ? prefs.quiet_hours.end : '07:00'});
    const startBox = field({label: t('prefs.quiet_start'), input: start, name: 'start'});
    const endBox = field({label: t('prefs.quiet_end'), input: end, name: 'end'});
    const zone = h('input', {type: 'text', name: 'timezone', value: prefs.timezone || 'Asia/Shanghai', maxlength: 64});
    const zoneBox = field({label: t('prefs.timezone'), input: zone, name: 'timezone'});
    const toggle = () => { startBox.hidden = !quiet.checked; endBox.hidden = !quiet.checked; };
    quiet.addEventListener('change', toggle);
    toggle();
    const status = notice();
    const save = h('button', {type: 'submit', class: 'primary', id: 'save-preferences'}, t('common.save'));
    const form = h('form', {class: 'card', novalidate: true},
      h('fieldset', {}, h('legend', {}, t('prefs.channels')),
        h('p', {class: 'hint'}, t('prefs.inbox_always')),
        Object.values(channels).map((c) => c.el)),
      h('fieldset', {}, h('legend', {}, t('prefs.quiet')),
        h('p', {class: 'hint'}, t('prefs.quiet_hint')),
        h('div', {class: 'checkbox'}, quiet, h('label', {for: 'quiet-on'}, t('prefs.quiet_on'))),
        startBox, endBox, zoneBox),
      status, save);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(save, async () => {
        [startBox, endBox, zoneBox].forEach((b) => b.setError(null));
        const body = {
          channels: Object.fromEntries(Object.entries(channels).map(([k, c]) => [k, c.input.checked])),
          quiet_hours: quiet.checked ? {start: start.value, end: end.value} : null,
          timezone: zone.value.trim() || null,
        };
        try {
          await ctx.api.put('/me/notification-preferences', body);
          status.say(t('prefs.saved'), 'ok');
        } catch (exc) {
          const errors = exc.errors || {};
          const quietErrors = errors.quiet_hours || {};
          if (quietErrors.start) startBox.setError([].concat(quietErrors.start).join(' '));
          if (quietErrors.end) endBox.setError([].concat(quietErrors.end).join(' '));
          if (errors.timezone) zoneBox.setError([].concat(errors.timezone).join(' '));
          status.say(explain(exc), 'error');
        }
      });
    });
    add(view, h('h1', {}, t('prefs.title')), form);
  },
};
