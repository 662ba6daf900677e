// A hash router: '#/bundles/newborn' → one page module, loaded when first needed.
// A page module exports default {title(params), render(view, params, ctx)}; render may return a
// cleanup function, called when the page is left.
export function createRouter({routes, view, ctx, guard, onRoute}) {
  let cleanup = null;
  let generation = 0;

  function match(path) {
    for (const route of routes) {
      const names = [];
      const pattern = new RegExp(`^${route.path.replace(/:(\w+)/g, (m, name) => {
        names.push(name);
        return '([^/]+)';
      })}/?$`);
      const found = path.match(pattern);
      if (found) {
        const params = {};
        names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
        return {route, params};
      }
    }
    return null;
  }

  function current() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const [path, search] = raw.split('?');
    return {path, query: new URLSearchParams(search || '')};
  }

  async function render() {
    const mine = ++generation;
    if (cleanup) {
      try { cleanup(); } catch { /* a page's cleanup never blocks the next page */ }
      cleanup = null;
    }
    const {path, query} = current();
    const found = match(path) || match('/');
    const redirect = guard ? guard(found.route, path) : null;
    if (redirect) {
      navigate(redirect, {replace: true});
      return;
    }
    const page = (await found.route.load()).default;
    if (mine !== generation) return;
    const params = {...found.params, query};
    view.replaceChildren();
    view.setAttribute('aria-busy', 'true');
    document.title = `${page.title(params, ctx)} · ${ctx.appTitle()}`;
    if (onRoute) onRoute(found.route, path);
    try {
      const result = await page.render(view, params, ctx, () => mine === generation);
      if (mine === generation && typeof result === 'function') cleanup = result;
      else if (typeof result === 'function') result();
    } catch (exc) {
      if (mine === generation) ctx.showError(view, exc);
    } finally {
      if (mine === generation) {
        view.removeAttribute('aria-busy');
        const heading = view.querySelector('h1');
        if (heading && ctx.focusOnRoute !== false) {
          heading.setAttribute('tabindex', '-1');
          heading.focus({preventScroll: true});
        }
        window.scrollTo(0, 0);
      }
    }
  }

  function navigate(to, {replace = false} = {}) {
    const hash = `#${to}`;
    if (location.hash === hash) return render();
    if (replace) {
      history.replaceState(null, '', hash);
      return render();
    }
    location.hash = hash;
    return undefined;
  }

  window.addEventListener('hashchange', render);
  return {render, navigate, current};
}
