// The JSON API client: bearer token from the session, the page's language, one refresh on 401.
export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.error = this.body.error || (status === 0 ? 'network_error' : 'error');
    this.errors = this.body.errors || {};
  }
}

/** {items, total, page, pages} from a list answered with X-Pagination (a request made with full). */
export function paged({data, headers}) {
  let info = {};
  try {
    info = JSON.parse(headers.get('X-Pagination') || '{}');
  } catch {
    info = {};
  }
  return {items: data, total: info.total ?? data.length, page: info.page ?? 1, pages: info.total_pages ?? 1};
}

function query(params) {
  const pairs = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return pairs.length ? `?${new URLSearchParams(pairs).toString()}` : '';
}

export function createApi({session, locale, onSignedOut}) {
  let refreshing = null;

  function headers(extra) {
    const out = {Accept: 'application/json', 'Accept-Language': locale(), ...(extra || {})};
    const token = session.accessToken();
    if (token) out.Authorization = `Bearer ${token}`;
    return out;
  }

  /** Spend the refresh token once for everyone waiting; false when the session is over. */
  function refresh() {
    const token = session.refreshToken();
    if (!token) return Promise.resolve(false);
    if (!refreshing) {
      refreshing = fetch(`${API}/auth/refresh`, {
        method: 'POST', headers: {'Content-Type': 'application/json', Accept: 'application/json'},
        body: JSON.stringify({refresh_token: token}), cache: 'no-store',
      }).then(async (response) => {
        if (!response.ok) return false;
        session.set(await response.json());
        return true;
      }).catch(() => false).then((ok) => {
        refreshing = null;
        if (!ok) {
          session.clear();
          if (onSignedOut) onSignedOut();
        }
        return ok;
      });
    }
    return refreshing;
  }

  async function parse(response) {
    if (response.status === 204) return null;
    const type = response.headers.get('Content-Type') || '';
    if (type.includes('json')) return response.json();
    return response.text();
  }

  async function request(method, path, {body, params, headers: extra, full, retried} = {}) {
    const init = {method, headers: headers(extra), cache: 'no-store'};
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch(`${API}${path}${query(params)}`, init);
    } catch (exc) {
      throw new ApiError(0, {message: String(exc && exc.message || exc)});
    }
    if (response.status === 401 && !retried && init.headers.Authorization && await refresh()) {
      return request(method, path, {body, params, headers: extra, full, retried: true});
    }
    const data = await parse(response).catch(() => null);
    if (!response.ok) throw new ApiError(response.status, typeof data === 'object' ? data : null);
    return full ? {data, status: response.status, headers: response.headers} : data;
  }

  /** multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can). */
  function upload(path, formData, {onProgress, retried} = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${API}${path}`);
      for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
      xhr.responseType = 'text';
      if (onProgress) {
        xhr.upload.addEventListener('progress', (event) => {
          if (event.lengthComputable) onProgress(event.loaded / event.total);
        });
      }
      xhr.addEventListener('load', async () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText || 'null');
        } catch {
          data = null;
        }
        if (xhr.status === 401 && !retried && session.accessToken() && await refresh()) {
          upload(path, formData, {onProgress, retried: true}).then(resolve, reject);
        } else if (xhr.status >= 200 && xhr.status < 300) {
          if (onProgress) onProgress(1);
          resolve(data);
        } else {
          reject(new ApiError(xhr.status, data));
        }
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, {message: 'network error'})));
      xhr.send(formData);
    });
  }

  async function logout() {
    const token = session.refreshToken();
    session.clear();
    if (token) {
      await fetch(`${API}/auth/logout`, {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({refresh_token: token}), cache: 'no-store',
      }).catch(() => null);
    }
  }

  return {
    request, upload, refresh, logout, headers,
    get: (path, opts) => request('GET', path, opts),
    post: (path, body, opts) => request('POST', path, {...opts, body}),
    put: (path, body, opts) => request('PUT', path, {...opts, body}),
    patch: (path, body, opts) => request('PATCH', path, {...opts, body}),
    del: (path, opts) => request('DELETE', path, opts),
  };
}

/** A random key for Idempotency-Key: one per intended application. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
