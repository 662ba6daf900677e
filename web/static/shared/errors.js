// What went wrong, in words the reader understands.
import {h} from './dom.js';
import {t} from './i18n.js';

const BY_SLUG = ['payload_too_large', 'image_too_large', 'unsupported_media_type', 'quota_exceeded',
  'too_many_requests', 'network_error', 'invalid_code', 'invalid_credentials', 'account_locked',
  'task_not_claimable', 'idempotency_key_reused', 'conversation_claimed', 'conversation_closed',
  'offer_expired', 'already_rated'];

/** A sentence for an ApiError (or any error). */
export function explain(exc) {
  if (!exc) return '';
  if (exc.error && BY_SLUG.includes(exc.error)) return t(`error.${exc.error}`);
  switch (exc.status) {
    case 0: return t('error.network_error');
    case 401: return t('error.unauthorized');
    case 403: return t('error.forbidden');
    case 404: return t('error.not_found');
    case 413: return t('error.payload_too_large');
    case 415: return t('error.unsupported_media_type');
    case 429: return t('error.too_many_requests');
    default:
      if (exc.status >= 500) return t('error.server');
      return exc.message || t('error.server');
  }
}

export function showError(view, exc) {
  view.append(h('div', {class: 'card error-card', role: 'alert'},
    h('h1', {}, t('error.title')),
    h('p', {}, explain(exc)),
    h('p', {}, h('a', {href: '#/'}, t('error.home')))));
}
