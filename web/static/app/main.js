// The citizen's app: shell (top bar, tab bar), session, language, large text, live events.
import {createApi} from '../shared/api.js';
import {h, replace} from '../shared/dom.js';
import {openEventStream} from '../shared/events.js';
import {getLocale, preferredLocale, setLocale, t} from '../shared/i18n.js';
import {createRouter} from '../shared/router.js';
import {createSession} from '../shared/session.js';
import {showError} from '../shared/errors.js';

const LARGE_KEY = 'onething.app.large';
const session = createSession(localStorage, 'onething.app.session');
const view = document.getElementById('main');
const topbar = document.getElementById('topbar');
const tabbar = document.getElementById('tabbar');

const listeners = new Map();
const bus = {
  on(type, fn) {
    if (!listeners.has(type)) listeners.set(type, new Set());
    listeners.get(type).add(fn);
    return () => listeners.get(type).delete(fn);
  },
  emit(type, payload) {
    (listeners.get(type) || []).forEach((fn) => fn(payload));
  },
};

let router;
const api = createApi({
  session, locale: getLocale,
  onSignedOut: () => router && router.navigate('/sign-in', {replace: true}),
});

const cache = new Map();
const ctx = {
  api, session, bus, t,
  appTitle: () => t('app.title'),
  showError,
  large: () => document.documentElement.classList.contains('large'),
  navigate: (to, opts) => router.navigate(to, opts),
  signedIn: () => session.signedIn(),
  /** A public resource read once per language (bundles, departments). */
  async cached(path) {
    const key = `${getLocale()} ${path}`;
    if (!cache.has(key)) cache.set(key, api.get(path).catch((exc) => { cache.delete(key); throw exc; }));
    return cache.get(key);
  },
  me: null,
  async profile({fresh = false} = {}) {
    if (!ctx.me || fresh) ctx.me = await api.get('/me');
    return ctx.me;
  },
  unread: 0,
  async signOut() {
    await api.logout();
    ctx.me = null;
    sessionStorage.clear();
    router.navigate('/');
  },
};

const routes = [
  {path: '/', load: () => import('./pages/home.js')},
  {path: '/sign-in', load: () => import('./pages/sign-in.js')},
  {path: '/bundles/:code', load: () => import('./pages/bundle.js')},
  {path: '/bundles/:code/apply', load: () => import('./pages/apply.js'), auth: true},
  {path: '/applications', load: () => import('./pages/applications.js'), auth: true},
  {path: '/applications/:id', load: () => import('./pages/application.js'), auth: true},
  {path: '/offers', load: () => import('./pages/offers.js'), auth: true, tab: 'me'},
  {path: '/inbox', load: () => import('./pages/inbox.js'), auth: true, tab: 'inbox'},
  {path: '/assistant', load: () => import('./pages/assistant.js'), auth: true, tab: 'assistant'},
  {path: '/me', load: () => import('./pages/me.js'), auth: true, tab: 'me'},
  {path: '/me/family', load: () => import('./pages/family.js'), auth: true, tab: 'me'},
  {path: '/me/notifications', load: () => import('./pages/preferences.js'), auth: true, tab: 'me'},
];

const TABS = [
  {key: 'home', to: '/', text: 'nav.home'},
  {key: 'inbox', to: '/inbox', text: 'nav.inbox'},
  {key: 'assistant', to: '/assistant', text: 'nav.assistant'},
  {key: 'me', to: '/me', text: 'nav.me'},
];
let currentTab = 'home';

function drawTabbar() {
  replace(tabbar, h('ul', {}, TABS.map((tab) => {
    const badge = tab.key === 'inbox' && ctx.unread > 0
      ? h('span', {class: 'badge', 'aria-label': t('inbox.unread_count', {n: ctx.unread})}, String(ctx.unread > 99 ? '99+' : ctx.unread))
      : null;
    return h('li', {}, h('a', {
      href: `#${tab.to}`, class: 'tab', 'aria-current': tab.key === currentTab ? 'page' : undefined,
    }, h('span', {class: `tab-icon icon-${tab.key}`, 'aria-hidden': 'true'}), h('span', {class: 'tab-text'}, t(tab.text)), badge));
  })));
  tabbar.setAttribute('aria-label', t('nav.label'));
}

function drawTopbar() {
  const other = getLocale() === 'zh-CN' ? 'en' : 'zh-CN';
  const large = ctx.large();
  replace(topbar,
    h('a', {href: '#/', class: 'brand'}, h('span', {class: 'brand-mark', 'aria-hidden': 'true'}, '一'), t('app.title')),
    h('div', {class: 'topbar-actions'},
      h('button', {
        type: 'button', class: 'chip', id: 'large-toggle', 'aria-pressed': large ? 'true' : 'false',
        onclick: () => {
          document.documentElement.classList.toggle('large');
          localStorage.setItem(LARGE_KEY, ctx.large() ? '1' : '0');
          drawTopbar();
          router.render();
        },
      }, t('app.large_text')),
      h('button', {
        type: 'button', class: 'chip', id: 'language-switch', lang: other,
        'aria-label': t('app.switch_language'),
        onclick: async () => {
          await setLocale(other, {remember: true});
          // Notifications (push, SMS, the inbox's texts) follow the citizen's language too.
          if (session.signedIn()) api.patch('/me', {locale: other}).catch(() => null);
          drawShell();
          router.render();
        },
      }, other === 'en' ? 'English' : '中文')));
  document.getElementById('skip-link').textContent = t('app.skip');
}

function drawShell() {
  drawTopbar();
  drawTabbar();
}

async function refreshUnread() {
  if (!session.signedIn()) {
    ctx.unread = 0;
  } else {
    try {
      ctx.unread = (await api.get('/me/notifications', {params: {page_size: 1}})).unread;
    } catch {
      return;
    }
  }
  drawTabbar();
}

let stream = null;
function followEvents() {
  if (stream) stream.close();
  stream = null;
  if (!session.signedIn()) return;
  stream = openEventStream({
    api, session, locale: getLocale,
    onOpen: ({first}) => { if (first) bus.emit('stream-open'); },
    onEvent: (message) => {
      if (message.event !== 'notification') return;
      bus.emit('notification', message.data);
      ctx.unread += 1;
      drawTabbar();
    },
  });
}
bus.on('inbox-changed', refreshUnread);

let lastToken = session.accessToken();
session.onChange(() => {
  // A refresh swaps the token under the stream (it picks the new one up when it reconnects);
  // signing in or out starts or stops it.
  const signedIn = session.signedIn();
  if (!signedIn || !lastToken) {
    followEvents();
    refreshUnread();
  }
  lastToken = session.accessToken();
});

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault(); // the hash belongs to the router
  view.focus();
});

async function start() {
  if (localStorage.getItem(LARGE_KEY) === '1') document.documentElement.classList.add('large');
  await setLocale(preferredLocale());
  router = createRouter({
    routes, view, ctx,
    guard(route, path) {
      if (route.auth && !session.signedIn()) return `/sign-in?next=${encodeURIComponent(path)}`;
      return null;
    },
    onRoute(route) {
      currentTab = route.tab || (route.path === '/' ? 'home' : route.path.startsWith('/me') ? 'me' : '');
      drawTabbar();
    },
  });
  drawShell();
  followEvents();
  refreshUnread();
  await router.render();
}

start();
