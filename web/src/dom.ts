/** Building the page's elements (text is always set as text, never parsed as HTML) and formatting values. */

type Child = Node | string | number | false | null | undefined;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/**
 * `h('a', { class: 'row', href: '#/runs', onclick: fn }, 'text', child)`: attributes by name (`on…` adds a
 * listener; `true` sets an empty attribute; `false`/undefined sets none), children as nodes or text.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter(isChild).map((c) => (typeof c === 'number' ? String(c) : c)));
  return element;
}

function isChild(child: Child): child is Node | string | number {
  return child !== false && child !== null && child !== undefined;
}

/** A card: a titled panel, with optional text or elements at the right of its title. */
export function card(
  title: string,
  options: { subtitle?: string; actions?: Child[]; class?: string } = {},
  ...body: Child[]
): HTMLElement {
  return h(
    'section',
    { class: `card ${options.class ?? ''}`.trim() },
    h(
      'header',
      { class: 'card-header' },
      h(
        'div',
        {},
        h('h2', {}, title),
        options.subtitle ? h('p', { class: 'muted' }, options.subtitle) : null,
      ),
      options.actions ? h('div', { class: 'card-actions' }, ...options.actions) : null,
    ),
    ...body,
  );
}

/** A message where content would be: nothing yet, or not available. */
export function empty(title: string, detail?: string): HTMLElement {
  return h('div', { class: 'empty' }, h('strong', {}, title), detail ? h('p', {}, detail) : null);
}

export function badge(text: string, tone: Tone, title?: string): HTMLElement {
  return h('span', { class: `badge ${tone}`, title }, text);
}

export type Tone = 'ok' | 'bad' | 'warn' | 'info' | 'neutral';

/** A canvas in a box of the given height, for a Chart.js chart. */
export function chartBox(label: string, height = 260): { box: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const box = h('div', { class: 'chart-box' }, canvas);
  box.style.height = `${height}px`; // CSSOM, which the page's CSP allows (a style attribute it would not)
  return { box, canvas };
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter(isChild).map((c) => (typeof c === 'number' ? String(c) : c)));
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const withSeconds = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** "3 minutes ago", "yesterday". */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds), 'second');
}

export function when(iso: string | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '';
}

/**
 * Labels for points in time on a chart's axis, as precise as they need to be apart: seconds when they span
 * minutes, the time of day when they are all today, else the date too.
 */
export function axisTimes(isos: readonly string[]): string[] {
  const times = isos.map((iso) => new Date(iso));
  const span = (times.at(-1)?.getTime() ?? 0) - (times[0]?.getTime() ?? 0);
  const today = new Date().toDateString();
  const format = times.every((t) => t.toDateString() === today)
    ? span < 15 * 60_000
      ? withSeconds
      : timeOnly
    : dateTime;
  return times.map((t) => format.format(t));
}

export function duration(fromIso: string, toIso?: string): string {
  const seconds = Math.max(
    0,
    ((toIso ? new Date(toIso).getTime() : Date.now()) - new Date(fromIso).getTime()) / 1000,
  );
  if (seconds < 59.5) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${whole % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function number(value: number | undefined, digits = 3): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

export function percent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(1)}%`;
}
