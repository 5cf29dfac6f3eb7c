/**
 * An action of the registry's (approve, reject, promote, roll back, stop, retry) as a small modal form: what it
 * does, the fields it needs, a reason (required: the audit log keeps it) and — the first time, or after the API
 * refused the one kept — the admin key. It POSTs the change route, says how it went above the view and draws
 * the view again; a refusal or a conflict is said in the dialog, which stays open.
 */
import { ActionRefusedError, ApiError } from '../api.ts';
import { h } from '../dom.ts';
import { keys } from '../keys.ts';
import type { ViewScope } from '../view.ts';

/** What to say when a change is refused for want of IAM (403). */
export const IAM_MESSAGE =
  'Actions need IAM: open the dashboard through `nimbus dashboard`, which signs them with your AWS credentials.';

export interface ActionField {
  readonly name: string;
  readonly label: string;
  readonly value?: string;
  /** A pattern the value must match (the browser says so before anything is sent). */
  readonly pattern?: string;
  readonly help?: string;
}

export interface ActionSpec<T> {
  /** `approve`, `promote`…: the dialog's `data-action`. */
  readonly action: string;
  readonly title: string;
  readonly description: string;
  readonly confirm: string;
  /** A change that ends or refuses something: its button says so in red. */
  readonly destructive?: boolean;
  readonly fields?: readonly ActionField[];
  /** The change route's path under the registry (`models/iris/versions/3/approve`). */
  readonly path: (values: Readonly<Record<string, string>>) => string;
  readonly body: (reason: string, values: Readonly<Record<string, string>>) => unknown;
  /** What happened, in words, from the route's answer. */
  readonly done: (result: T) => string;
}

let sequence = 0;

/** Opens the action's dialog; resolves once it is closed (done or cancelled). */
export function openAction<T>(scope: ViewScope, spec: ActionSpec<T>): Promise<void> {
  const id = `action-${++sequence}`;
  const inputs = (spec.fields ?? []).map((field) => {
    const input = h('input', {
      id: `${id}-${field.name}`,
      name: field.name,
      required: true,
      value: field.value,
      pattern: field.pattern,
      autocomplete: 'off',
      spellcheck: 'false',
    });
    return {
      field,
      input,
      row: h(
        'div',
        { class: 'field' },
        h('label', { for: input.id }, field.label),
        input,
        field.help ? h('p', { class: 'muted small' }, field.help) : null,
      ),
    };
  });
  const reason = h('textarea', {
    id: `${id}-reason`,
    name: 'reason',
    required: true,
    rows: 3,
    maxlength: 1000,
    placeholder: 'Why: the audit log keeps it',
  });
  const adminKey = h('input', {
    id: `${id}-admin-key`,
    name: 'adminKey',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'x-nimbus-admin-key value',
  });
  const adminRow = h(
    'div',
    { class: 'field' },
    h('label', { for: adminKey.id }, 'Admin key'),
    adminKey,
    h(
      'p',
      { class: 'muted small' },
      'Changes need IAM; on one machine the admin key stands in for it (',
      h('code', {}, 'npm start'),
      ' prints it). It is kept in this browser only.',
    ),
  );
  const askKey = (ask: boolean) => {
    adminRow.hidden = !ask;
    adminKey.required = ask;
  };
  askKey(keys.get('admin') === undefined);
  const problem = h('p', { class: 'error-text dialog-problem', role: 'alert', hidden: true });
  const confirm = h(
    'button',
    { type: 'submit', class: `button${spec.destructive ? ' danger' : ''}` },
    spec.confirm,
  );
  const cancel = h('button', { type: 'button', class: 'button secondary' }, 'Cancel');
  const form = h(
    'form',
    { class: 'dialog-form' },
    h('h2', { id: `${id}-title` }, spec.title),
    h('p', { class: 'muted' }, spec.description),
    ...inputs.map((i) => i.row),
    h('div', { class: 'field' }, h('label', { for: reason.id }, 'Reason'), reason),
    adminRow,
    problem,
    h('div', { class: 'dialog-buttons' }, cancel, confirm),
  );
  const dialog = h(
    'dialog',
    { class: 'action-dialog', 'aria-labelledby': `${id}-title`, 'data-action': spec.action },
    form,
  );
  document.body.append(dialog);

  const say = (text: string) => {
    problem.textContent = text;
    problem.hidden = false;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value.trim()]));
    const why = reason.value.trim();
    if (!why) {
      reason.setCustomValidity('Say why: the audit log keeps it.');
      reason.reportValidity();
      return;
    }
    const typed = adminKey.value.trim();
    const key = adminRow.hidden ? keys.get('admin') : typed;
    confirm.disabled = true;
    problem.hidden = true;
    scope.api.change<T>(spec.path(values), spec.body(why, values), key).then(
      (result) => {
        if (typed) keys.set('admin', typed);
        dialog.close();
        scope.notify(spec.done(result), 'ok');
        scope.reload();
      },
      (error: unknown) => {
        confirm.disabled = false;
        if (error instanceof ActionRefusedError) {
          keys.set('admin', undefined);
          askKey(true);
          say(
            `The API refused this change (${error.message}). ${IAM_MESSAGE} On one machine, check the admin key.`,
          );
          adminKey.focus();
        } else if (error instanceof ApiError) {
          say(`Not done: ${error.message}`);
        } else {
          say(`Not done: the API is unreachable (${(error as Error).message}).`);
        }
      },
    );
  });
  reason.addEventListener('input', () => reason.setCustomValidity(''));
  cancel.addEventListener('click', () => dialog.close());
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve();
    });
    dialog.showModal();
    (inputs[0]?.input ?? reason).focus();
  });
}

/** A button that opens an action's dialog. */
export function actionButton<T>(scope: ViewScope, label: string, spec: ActionSpec<T>): HTMLElement {
  return h(
    'button',
    {
      type: 'button',
      class: `button small-button${spec.destructive ? ' danger' : ' secondary'}`,
      'data-action': spec.action,
      onclick: () => void openAction(scope, spec),
    },
    label,
  );
}
