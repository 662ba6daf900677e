// The workbench's pages: one module each. Adding a page is one line here (its path, the roles
// that may open it, its menu text) and one module under pages/.
export const PAGES = [
  {path: '/sign-in', load: () => import('./pages/sign-in.js'), public: true},
  {path: '/tasks', load: () => import('./pages/queue.js'), roles: ['officer'], menu: 'nav.queue'},
  {path: '/tasks/:id', load: () => import('./pages/task.js'), roles: ['officer']},
  {path: '/station', load: () => import('./pages/station.js'), roles: ['clerk'], menu: 'nav.station'},
  {path: '/station/applications', load: () => import('./pages/station-list.js'), roles: ['clerk'], menu: 'nav.station_list'},
  {path: '/rectifications', load: () => import('./pages/rectifications.js'), roles: ['officer'], menu: 'nav.rectifications'},
  {path: '/desk', load: () => import('./pages/desk.js'), roles: ['agent'], menu: 'nav.desk'},
  {path: '/desk/:id', load: () => import('./pages/desk-conversation.js'), roles: ['agent']},
  {path: '/figures', load: () => import('./pages/figures.js'), roles: ['officer', 'admin'], menu: 'nav.figures'},
  {path: '/handoffs', load: () => import('./pages/handoffs.js'), roles: ['officer', 'clerk', 'admin'], menu: 'nav.handoffs'},
  {path: '/admin/staff', load: () => import('./pages/staff.js'), roles: ['admin'], menu: 'nav.staff'},
  {path: '/admin/deliveries', load: () => import('./pages/deliveries.js'), roles: ['admin'], menu: 'nav.deliveries'},
];

export const HOME = {officer: '/tasks', clerk: '/station', agent: '/desk', admin: '/admin/staff'};
