// The staff workbench: sign-in, a menu of what the signed-in role may do, one module per page.
import {createApi} from '../shared/api.js';
import {h, replace} from '../shared/dom.js';
import {showError} from '../shared/errors.js';
import {getLocale, label, preferredLocale, setLocale, t} from '../shared/i18n.js';
import {createRouter} from '../shared/router.js';
import {createSession} from '../shared/session.js';
import {HOME, PAGES} from './pages.js';

const session = createSession(sessionStorage, 'onething.workbench.session');
const view = document.getElementById('main');
const header = document.getElementById('header');
const nav = document.getElementById('nav');
let router;
let currentPath = '';

const api = createApi({
  session, locale: getLocale,
  onSignedOut: () => router && router.navigate('/sign-in', {replace: true}),
});

const ctx = {
  api, session, t,
  appTitle: () => t('wb.title'),
  showError,
  navigate: (to, opts) => router.navigate(to, opts),
  user: () => session.user(),
  home: () => HOME[session.user()?.role] || '/sign-in',
  async signOut() {
    await api.logout();
    sessionStorage.clear();
    router.navigate('/sign-in');
  },
};

function drawHeader() {
  const user = session.user();
  const other = getLocale() === 'zh-CN' ? 'en' : 'zh-CN';
  replace(header,
    h('a', {class: 'wb-brand', href: `#${ctx.home()}`}, t('wb.title')),
    h('div', {class: 'row'},
      user ? h('span', {class: 'wb-user', id: 'who'}, `${user.name || ''} · ${label('role', user.role)}${user.department ? ` · ${user.department}` : ''}${user.station ? ` · ${user.station}` : ''}`) : null,
      h('button', {
        type: 'button', class: 'chip', id: 'language-switch', lang: other, 'aria-label': t('app.switch_language'),
        onclick: async () => {
          await setLocale(other, {remember: true});
          drawHeader();
          drawNav();
          router.render();
        },
      }, other === 'en' ? 'English' : '中文'),
      user ? h('button', {type: 'button', class: 'chip', id: 'sign-out', onclick: () => ctx.signOut()}, t('me.sign_out')) : null));
  document.getElementById('skip-link').textContent = t('app.skip');
}

function drawNav() {
  const role = session.user()?.role;
  const items = PAGES.filter((p) => p.menu && role && p.roles.includes(role));
  nav.hidden = !items.length;
  nav.setAttribute('aria-label', t('nav.label'));
  const matches = items.filter((p) => currentPath === p.path || currentPath.startsWith(`${p.path}/`));
  const active = matches.sort((a, b) => b.path.length - a.path.length)[0];
  replace(nav, h('ul', {}, items.map((p) => h('li', {},
    h('a', {href: `#${p.path}`, 'aria-current': p === active ? 'page' : undefined}, t(p.menu))))));
}

session.onChange(() => {
  drawHeader();
  drawNav();
});

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  view.focus();
});

async function start() {
  await setLocale(preferredLocale());
  const routes = [...PAGES, {path: '/', load: () => import('./pages/sign-in.js'), public: true, root: true}];
  router = createRouter({
    routes, view, ctx,
    guard(route, path) {
      const user = session.user();
      if (route.root) return user ? ctx.home() : '/sign-in';
      if (route.public) return user && route.path === '/sign-in' ? ctx.home() : null;
      if (!session.signedIn()) return `/sign-in?next=${encodeURIComponent(path)}`;
      if (!route.roles.includes(user.role)) return ctx.home();
      return null;
    },
    onRoute(route, path) {
      currentPath = path;
      drawNav();
    },
  });
  drawHeader();
  await router.render();
}

start();
