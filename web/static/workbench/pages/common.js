// Pieces several workbench pages show.
import {h} from '../../shared/dom.js';
import {label} from '../../shared/i18n.js';

export function statusChip(status) {
  return h('span', {class: `status status-${status}`, dataset: {status}}, label('status', status));
}

/** {items, total, page, pages} from a list answered with X-Pagination. */
export function paged({data, headers}) {
  let info = {};
  try {
    info = JSON.parse(headers.get('X-Pagination') || '{}');
  } catch {
    info = {};
  }
  return {items: data, total: info.total ?? data.length, page: info.page ?? 1, pages: info.total_pages ?? 1};
}
