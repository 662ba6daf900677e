// One material upload: choose a file, see it, watch it go up, read what went wrong in words.
import {ApiError} from './api.js';
import {busy, h, nextId} from './dom.js';
import {explain} from './errors.js';
import {bytes, t} from './i18n.js';

const ACCEPT = 'image/jpeg,image/png,image/heic,image/heif,application/pdf,.jpg,.jpeg,.png,.heic,.pdf';

let limits = null;
/** The server's published limits (GET /materials/limits), read once; null when unreadable. */
function uploadLimits(ctx) {
  if (!limits) limits = ctx.api.get('/materials/limits').catch(() => { limits = null; return null; });
  return limits;
}

/** Words for a failed upload: 413 and 415 said plainly, with the file's own size or type. */
export function uploadProblem(exc, file) {
  if (exc.status === 413 || exc.error === 'payload_too_large' || exc.error === 'image_too_large') {
    return exc.error === 'image_too_large' ? t('upload.too_many_pixels')
      : t('upload.too_large', {size: bytes(file.size), message: exc.message || ''});
  }
  if (exc.status === 415 || exc.error === 'unsupported_media_type') {
    return t('upload.unsupported', {name: file.name});
  }
  return explain(exc);
}

/**
 * An upload box for one material type. onUploaded(material) when the server kept it.
 * `extra` adds form fields to the multipart body (e.g. {consent} for a station scan).
 */
export function uploadBox({ctx, type, name, status, onUploaded, path = '/materials', extra = {}, uploader}) {
  const inputId = nextId(`file-${type}`);
  const input = h('input', {type: 'file', id: inputId, accept: ACCEPT, name: `file-${type}`, dataset: {type}});
  const progress = h('progress', {max: 100, value: 0, hidden: true, 'aria-label': t('upload.progress', {name})});
  const percent = h('span', {class: 'small muted', 'aria-live': 'polite'});
  const preview = h('div', {class: 'preview-box'});
  const message = h('p', {class: 'field-error', role: 'alert', hidden: true});
  const state = h('p', {class: 'small', dataset: {uploadState: status === 'on_file' ? 'on_file' : 'empty'}},
    status === 'on_file' ? t('upload.on_file') : t('upload.needed'));
  let objectUrl = null;

  const box = h('div', {class: 'upload', dataset: {material: type}},
    h('label', {for: inputId, class: 'upload-label'}, h('strong', {}, name)),
    state, input, progress, percent, preview, message);
  box.materialId = null;

  input.addEventListener('change', () => {
    const file = input.files && input.files[0];
    if (!file) return;
    message.hidden = true;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    const isImage = /^image\/(jpeg|png)$/.test(file.type);
    if (isImage) {
      objectUrl = URL.createObjectURL(file);
      preview.replaceChildren(h('img', {class: 'preview', src: objectUrl, alt: t('upload.preview_alt', {name})}));
    } else {
      preview.replaceChildren(h('p', {class: 'small'}, `📄 ${file.name} · ${bytes(file.size)}`));
    }
    const form = new FormData();
    form.append('type', type);
    for (const [k, v] of Object.entries(extra)) form.append(k, v);
    form.append('file', file, file.name);
    progress.hidden = false;
    progress.value = 0;
    percent.textContent = '0%';
    state.dataset.uploadState = 'uploading';
    state.textContent = t('upload.uploading');
    box.pending = busy(input, async () => {
      try {
        // A file over the published limit is refused here, before a byte of it is sent.
        const known = await uploadLimits(ctx);
        if (known && file.size > known.max_bytes) {
          throw new ApiError(413, {error: 'payload_too_large', message: t('upload.limit', {max: bytes(known.max_bytes)})});
        }
        const send = uploader || ((p, f, opts) => ctx.api.upload(p, f, opts));
        const material = await send(path, form, {
          onProgress: (share) => {
            progress.value = Math.round(share * 100);
            percent.textContent = `${Math.round(share * 100)}%`;
          },
        });
        box.materialId = material.id;
        state.dataset.uploadState = 'done';
        state.textContent = t('upload.done', {size: bytes(material.size)});
        if (onUploaded) onUploaded(material);
      } catch (exc) {
        progress.hidden = true;
        percent.textContent = '';
        state.dataset.uploadState = 'failed';
        state.textContent = t('upload.failed');
        message.textContent = uploadProblem(exc, file);
        message.hidden = false;
        input.value = '';
      }
    });
  });
  box.setError = (text) => {
    message.textContent = text || '';
    message.hidden = !text;
  };
  box.cleanup = () => { if (objectUrl) URL.revokeObjectURL(objectUrl); };
  return box;
}
