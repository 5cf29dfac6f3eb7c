/**
 * The dashboard page: asks for the API key once (or takes it from a `#key=<key>` link, as `npm start`
 * prints one), keeps it in this browser's localStorage, and shows one view at a time from the URL's fragment:
 * `#/runs[/<runId>]`, `#/compare?runs=<a>,<b>`, `#/models[/<model>[/versions/<v>]]`, `#/drift` — each with
 * its state (filter, sort, page…) in the fragment's query, so that a link reproduces the view.
 */
import { Api, ApiError } from './api.ts';
import { card, empty, h, replace } from './dom.ts';
import { keys, takeKeysFromFragment } from './keys.ts';
import { type Route, type View, ViewScope } from './view.ts';
import { compareView } from './views/compare.ts';
import { driftView } from './views/drift.ts';
import { modelsView } from './views/models.ts';
import { runView } from './views/run.ts';
import { runsView } from './views/runs.ts';

const VIEWS: Record<Route['view'], View> = {
  runs: (scope) => (scope.route.parts[0] ? runView(scope) : runsView(scope)),
  compare: compareView,
  models: modelsView,
  drift: driftView,
};

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const main = element<HTMLElement>('main');
const refreshStatus = element<HTMLElement>('refresh-status');
const changeKey = element<HTMLButtonElement>('change-key');

const notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
main.before(notice);

/** `#key=…` (what `npm start` prints): keep the keys, and take them out of the address bar and history. */
function takeKeyFromFragment(): void {
  if (takeKeysFromFragment(location.hash)) {
    history.replaceState(null, '', `${location.pathname}${location.search}#/runs`);
  }
}

function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const query = new URLSearchParams(search);
  const [view, ...parts] = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return view === 'models' || view === 'drift' || view === 'compare'
    ? { view, parts, query }
    : { view: 'runs', parts: view === 'runs' ? parts : [], query };
}

let current: ViewScope | undefined;

async function show(): Promise<void> {
  current?.end();
  current = undefined;
  const key = keys.get('api');
  changeKey.hidden = key === undefined;
  if (key === undefined) return askForKey();
  const route = parseRoute(location.hash);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('.tabs a')) {
    if (link.dataset.view === (route.view === 'compare' ? 'runs' : route.view))
      link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const scope = new ViewScope(
    new Api(key, location.href),
    main,
    route,
    navigate,
    (text) => {
      refreshStatus.textContent = text;
    },
    notify,
  );
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
    const unreachable = error instanceof TypeError; // fetch's network error: no answer at all
    replace(
      main,
      card(
        unreachable ? 'The API is unreachable' : 'The dashboard could not load this view',
        { class: 'error-state' },
        empty(
          unreachable ? 'No answer from the platform' : (error as Error).message,
          unreachable
            ? 'It may be starting, stopped or out of reach from this network. Try again in a moment.'
            : 'The platform may be starting or unreachable; try again in a moment.',
        ),
        h(
          'div',
          { class: 'empty-actions' },
          h('button', { type: 'button', class: 'button', onclick: () => void show() }, 'Try again'),
        ),
      ),
    );
  }
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined;

/** Says how an action went, above the view (which redraws under it). */
function notify(text: string, tone: 'ok' | 'bad'): void {
  clearTimeout(noticeTimer);
  notice.className = `notice ${tone}`;
  notice.textContent = text;
  notice.hidden = false;
  noticeTimer = setTimeout(() => {
    notice.hidden = true;
  }, 15_000);
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
        keys.set('api', key);
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
  keys.set('api', undefined);
  keys.set('admin', undefined);
  askForKey();
});
window.addEventListener('hashchange', () => {
  takeKeyFromFragment(); // a `#key=` link opened in a tab that shows the dashboard already
  void show();
});
takeKeyFromFragment();
void show();
