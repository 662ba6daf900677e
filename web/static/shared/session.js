// Where a client keeps its tokens: Web Storage only (never a URL, never a cookie).
export function createSession(storage, key) {
  let cached;
  const read = () => {
    if (cached !== undefined) return cached;
    try {
      cached = JSON.parse(storage.getItem(key) || 'null');
    } catch {
      cached = null;
    }
    return cached;
  };
  const listeners = new Set();
  const session = {
    get: () => read(),
    user: () => read()?.user || null,
    accessToken: () => read()?.access_token || null,
    refreshToken: () => read()?.refresh_token || null,
    signedIn: () => Boolean(read()?.access_token),
    set(tokens) {
      const previous = read();
      cached = {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token || previous?.refresh_token || null,
        user: tokens.user || previous?.user || null,
      };
      storage.setItem(key, JSON.stringify(cached));
      listeners.forEach((fn) => fn(cached));
    },
    clear() {
      cached = null;
      storage.removeItem(key);
      listeners.forEach((fn) => fn(null));
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  return session;
}
