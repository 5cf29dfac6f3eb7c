/**
 * The dashboard page: asks for the API key once (or takes it from a `#key=<key>` link, as `npm start`
 * prints one), keeps it in this browser's localStorage, and shows one view at a time from the URL's fragment:
 * `#/runs[/<runId>]`, `#/models[/<model>[/versions/<v>]]`, `#/drift`.
 */
import { Api, ApiError } from './api.ts';
import { card, empty, h, replace } from './dom.ts';
import { type Route, type View, ViewScope } from './view.ts';
import { driftView } from './views/drift.ts';
import { modelsView } from './views/models.ts';
import { runsView } from './views/runs.ts';

const KEY_STORAGE = 'nimbus-ml.api-key';
const VIEWS: Record<Route['view'], View> = { runs: runsView, models: modelsView, drift: driftView };

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const main = element<HTMLElement>('main');
const refreshStatus = element<HTMLElement>('refresh-status');
const changeKey = element<HTMLButtonElement>('change-key');

/** The key, in localStorage when the browser allows it, else for this page's life only. */
const keys = {
  memory: undefined as string | undefined,
  get(): string | undefined {
    try {
      return localStorage.getItem(KEY_STORAGE) ?? this.memory;
    } catch {
      return this.memory;
    }
  },
  set(key: string | undefined): void {
    this.memory = key;
    try {
      if (key === undefined) localStorage.removeItem(KEY_STORAGE);
      else localStorage.setItem(KEY_STORAGE, key);
    } catch {
      // storage disabled: the key lasts as long as the page
    }
  },
};

/** `#key=<key>` (what `npm start` prints): keep the key, and take it out of the address bar and history. */
function takeKeyFromFragment(): void {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return;
  keys.set(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/runs`);
}

function parseRoute(hash: string): Route {
  const [view, ...parts] = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return view === 'models' || view === 'drift'
    ? { view, parts }
    : { view: 'runs', parts: view === 'runs' ? parts : [] };
}

let current: ViewScope | undefined;

async function show(): Promise<void> {
  current?.end();
  current = undefined;
  const key = keys.get();
  changeKey.hidden = key === undefined;
  if (key === undefined) return askForKey();
  const route = parseRoute(location.hash);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('.tabs a')) {
    if (link.dataset.view === route.view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const scope = new ViewScope(new Api(key, location.href), main, route, navigate, (text) => {
    refreshStatus.textContent = text;
  });
  current = scope;
  refreshStatus.textContent = '';
  replace(main, h('div', { class: 'loading', role: 'status' }, 'Loading…'));
  try {
    await VIEWS[route.view](scope);
  } catch (error) {
    if (scope.ended || (error as Error).name === 'AbortError') return;
    if (error instanceof ApiError && (error.status === 401 || error.status === 403) && !error.missing) {
      return askForKey('The API refused this key. Check it and try again.');
    }
    console.error(error);
    replace(
      main,
      card(
        'The dashboard could not load this view',
        {},
        empty(
          (error as Error).message,
          'The platform may be starting or unreachable; the view tries again when you reload.',
        ),
      ),
    );
  }
}

function navigate(hash: string, replaceEntry = false): void {
  if (replaceEntry) {
    history.replaceState(null, '', hash);
    void show();
  } else {
    location.hash = hash; // shows it on hashchange
  }
}

function askForKey(problem?: string): void {
  current?.end();
  current = undefined;
  changeKey.hidden = true;
  const input = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'x-api-key value',
    'aria-describedby': 'api-key-help',
  });
  const form = h(
    'form',
    {
      class: 'key-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        keys.set(key);
        void show();
      },
    },
    h('label', { for: 'api-key' }, 'API key'),
    h('div', { class: 'key-row' }, input, h('button', { type: 'submit', class: 'button' }, 'Open dashboard')),
    problem ? h('p', { class: 'error-text', role: 'alert' }, problem) : null,
    h(
      'p',
      { id: 'api-key-help', class: 'muted small' },
      'The key the predict API takes. On one machine, ',
      h('code', {}, 'npm start'),
      ' prints a link with it; in AWS, read it with ',
      h('code', {}, 'aws apigateway get-api-key --include-value'),
      '. It is kept in this browser only.',
    ),
  );
  replace(main, h('div', { class: 'centered' }, card('Connect to Nimbus ML', {}, form)));
  input.focus();
}

changeKey.addEventListener('click', () => {
  keys.set(undefined);
  askForKey();
});
window.addEventListener('hashchange', () => {
  takeKeyFromFragment(); // a `#key=` link opened in a tab that shows the dashboard already
  void show();
});
takeKeyFromFragment();
void show();
