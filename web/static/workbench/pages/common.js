// Pieces several workbench pages show.
import {paged} from '../../shared/api.js';
import {h} from '../../shared/dom.js';
import {label, t} from '../../shared/i18n.js';

export {paged};

export function statusChip(status) {
  return h('span', {class: `status status-${status}`, dataset: {status}}, label('status', status));
}

/** Previous / page n of m / next under a paged list; go(page) loads that page. */
export function pagerButtons({page, pages, total}, go) {
  return [
    h('button', {type: 'button', disabled: page <= 1, onclick: () => go(page - 1)}, t('common.previous')),
    h('span', {}, t('queue.page', {page, pages, total})),
    h('button', {type: 'button', disabled: page >= pages, onclick: () => go(page + 1)}, t('common.next')),
  ];
}
