// The console's shell: sign-in, the program picker, navigation and the hash router.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session } from './api.js';
import { AutomationsPage } from './pages/automations.js';
import { CatalogPage } from './pages/catalog.js';
import { EventPage, EventsPage } from './pages/events.js';
import { LedgerPage } from './pages/ledger.js';
import { OverviewPage } from './pages/overview.js';
import { ParticipantPage, ParticipantsPage } from './pages/participants.js';
import { RulePage, RulesPage } from './pages/rules.js';
import { SetupPage } from './pages/setup.js';
import { TiersPage } from './pages/tiers.js';
import { ErrorNote, html, useApi } from './ui.js';

const programItem = 'accrue.programId';

const pages = [
  { path: '/overview', label: 'Overview', page: OverviewPage },
  { path: '/participants', label: 'Participants', page: ParticipantsPage },
  { path: '/events', label: 'Events', page: EventsPage },
  { path: '/rules', label: 'Rules', page: RulesPage },
  { path: '/ledger', label: 'Ledger', page: LedgerPage },
  { path: '/tiers', label: 'Tiers', page: TiersPage },
  { path: '/automations', label: 'Automations', page: AutomationsPage },
  { path: '/catalog', label: 'Rewards & more', page: CatalogPage },
  { path: '/setup', label: 'Setup', page: SetupPage },
];

const detailPages = [
  { prefix: '/participants/', page: ParticipantPage },
  { prefix: '/events/', page: EventPage },
  { prefix: '/rules/', page: RulePage },
];

function readRoute() {
  const [path, search = ''] = (window.location.hash.slice(1) || '/overview').split('?');
  return { path, params: new URLSearchParams(search) };
}

function useRoute() {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    const key = new FormData(event.target).get('key').trim();
    session.signIn(key);
    try {
      await api('GET', '/v1/programs?limit=1');
      onSignedIn();
    } catch (caught) {
      session.signOut();
      setError(caught);
    }
  };
  return html`<main class="signin">
    <h1>Accrue console</h1>
    <p>Sign in with an API key. <code>npm start</code> prints one at the first start;
      <code>npm run accrue -- keys create --org NAME</code> makes another. The key is kept in this tab only.</p>
    <form onSubmit=${submit}>
      <label for="f-key">API key</label>
      <input id="f-key" name="key" type="password" autocomplete="off" placeholder="sk_…" required autofocus />
      ${error ? html`<small class="field-error" role="alert">${error.message}</small>` : null}
      <button type="submit">Sign in</button>
    </form>
  </main>`;
}

function ProgramPicker({ programId, onChange }) {
  const programs = useApi('/v1/programs?limit=200&sort_by=name&sort_dir=asc');
  const list = programs.data?.data ?? [];
  useEffect(() => {
    const known = list.some((program) => program.id === programId);
    if (!known && list.length > 0) onChange(list[0].id);
  }, [programs.data]);
  if (programs.error) return html`<${ErrorNote} error=${programs.error} />`;
  return html`<label class="picker">Program
    <select aria-label="Program" value=${programId ?? ''} onChange=${(event) => onChange(event.target.value)}>
      ${list.length === 0 ? html`<option value="">none yet</option>` : null}
      ${list.map((program) => html`<option value=${program.id}>${program.name}</option>`)}
    </select>
  </label>`;
}

function Shell({ onSignOut }) {
  const route = useRoute();
  const [programId, setProgramId] = useState(sessionStorage.getItem(programItem));
  const [programsVersion, setProgramsVersion] = useState(0);
  const chooseProgram = (id) => {
    sessionStorage.setItem(programItem, id);
    setProgramId(id);
  };
  const detail = detailPages.find((candidate) => route.path.startsWith(candidate.prefix));
  const top = pages.find((candidate) => candidate.path === route.path);
  const Page = detail?.page ?? top?.page ?? OverviewPage;
  const id = detail ? decodeURIComponent(route.path.slice(detail.prefix.length)) : undefined;
  const context = {
    programId,
    params: route.params,
    id,
    onProgramCreated: (created) => {
      chooseProgram(created);
      setProgramsVersion((n) => n + 1);
    },
  };
  return html`<div class="shell">
    <header>
      <a class="brand" href="#/overview">Accrue</a>
      <nav aria-label="Pages">${pages.map(
        (page) =>
          html`<a href=${`#${page.path}`} aria-current=${route.path.startsWith(page.path) ? 'page' : null}>${page.label}</a>`,
      )}</nav>
      <${ProgramPicker} key=${programsVersion} programId=${programId} onChange=${chooseProgram} />
      <button class="secondary" onClick=${onSignOut}>Sign out</button>
    </header>
    <main>
      ${programId || Page === SetupPage ? html`<${Page} ...${context} />` : html`<${SetupPage} ...${context} />`}
    </main>
  </div>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(session.key() !== null);
  useEffect(() => {
    const onSignedOut = () => setSignedIn(false);
    window.addEventListener('accrue:signed-out', onSignedOut);
    return () => window.removeEventListener('accrue:signed-out', onSignedOut);
  }, []);
  if (!signedIn) return html`<${SignIn} onSignedIn=${() => setSignedIn(true)} />`;
  const signOut = () => {
    session.signOut();
    setSignedIn(false);
  };
  return html`<${Shell} onSignOut=${signOut} />`;
}

const root = document.getElementById('root');
root.replaceChildren();
render(html`<${App} />`, root);
