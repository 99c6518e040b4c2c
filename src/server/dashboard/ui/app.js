/**
 * The sluice dashboard: asks for an API token, then shows the lake, pipeline runs, promotions,
 * pollers and queues, and a time-series explorer. Views are chosen by the URL's hash (#/lake …),
 * so the browser's back button and links work without a server route per view.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, currentToken, onTokenChange, onUnauthorized, setToken } from './api.js';
import { ExplorerView } from './explorer.js';
import { html } from './html.js';
import { LakeView } from './lake.js';
import { PromotionsView } from './promotions.js';
import { QueuesView } from './queues.js';
import { RunsView } from './runs.js';

const VIEWS = [
  ['lake', 'Lake', LakeView],
  ['runs', 'Runs', RunsView],
  ['promotions', 'Promotions', PromotionsView],
  ['queues', 'Pollers & queues', QueuesView],
  ['explorer', 'Time series', ExplorerView],
];

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

function TokenForm({ problem, onSignedIn }) {
  const [value, setValue] = useState('');
  const [remember, setRemember] = useState(true);
  const [error, setError] = useState(problem);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const token = value.trim();
    if (!token) return;
    setBusy(true);
    let who;
    try {
      who = await api('api/whoami', { token });
    } catch (e) {
      setBusy(false);
      setError(e.status === 401 ? `The server refused this token (401): ${e.message}` : e.message);
      return;
    }
    onSignedIn(who);
    setToken(token, remember);
  };
  return html`<div class="signin">
    <h1>sluice</h1>
    <form onSubmit=${submit} autocomplete="off">
      <label for="token">API token</label>
      <input id="token" type="password" value=${value} onInput=${(e) => setValue(e.target.value)}
        placeholder="a read or admin token of SLUICE_API_TOKENS" autofocus spellcheck="false" autocomplete="off" />
      <label class="check"><input type="checkbox" checked=${remember} onChange=${(e) => setRemember(e.target.checked)} />
        Remember it in this tab (sessionStorage; gone when the tab closes)</label>
      <button type="submit" disabled=${busy || !value.trim()}>${busy ? 'Checking…' : 'Sign in'}</button>
      ${error ? html`<div class="error" role="alert">${error}</div>` : null}
      <p class="muted">The token is sent as <code>Authorization: Bearer</code> with each request, never as a
        cookie. <code>sluice serve --demo</code> prints one when it starts.</p>
    </form>
  </div>`;
}

function App() {
  const [token, setTokenState] = useState(currentToken());
  const [who, setWho] = useState(null);
  const [problem, setProblem] = useState(null);
  const hash = useHash();
  useEffect(() => onTokenChange(setTokenState), []);
  useEffect(
    () =>
      onUnauthorized((error) => {
        setWho(null);
        setProblem(`Signed out: the server refused the token (401): ${error.message}`);
        setToken('', false);
      }),
    [],
  );
  useEffect(() => {
    // A token kept from before a reload: find out again what it may do.
    if (token && !who) api('api/whoami').then(setWho, () => {});
  }, [token, who]);

  if (!token)
    return html`<${TokenForm} problem=${problem} onSignedIn=${(w) => {
      setProblem(null);
      setWho(w);
    }} />`;
  const route = /^#\/([a-z]+)/.exec(hash)?.[1] ?? 'lake';
  const [, , View] = VIEWS.find(([id]) => id === route) ?? VIEWS[0];
  const signOut = () => {
    setWho(null);
    setProblem(null);
    setToken('', false);
  };
  return html`<div class="layout">
    <header>
      <span class="brand">sluice</span>
      <nav>${VIEWS.map(
        ([id, label]) =>
          html`<a href=${`#/${id}`} class=${id === route ? 'active' : ''} data-view=${id}>${label}</a>`,
      )}</nav>
      <span class="who">${who ? html`signed in as <b>${who.label}</b> (${who.scopes.join(', ')})` : ''}</span>
      <button type="button" class="link" onClick=${signOut}>Sign out</button>
    </header>
    <main><${View} key=${route} scopes=${who?.scopes ?? []} /></main>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
