/** The rules for dataset, model and run names, and what a refused name is told instead. */

/**
 * Dataset and model names (a model is named after its dataset): what S3 keys, table keys, URL paths, metric
 * dimensions and alarm names can all carry safely. The one rule, applied where a name first arrives — the
 * upload (RegisterDataset, before anything is written; the CLI, before it uploads) — and by every API route
 * (a name outside the rule is no resource: 404, before any table, cache or metric is touched).
 */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const NAME_MAX_LENGTH = 63;
export const NAME_RULE = `lowercase letters, digits, "-" and "_" (at most ${NAME_MAX_LENGTH}), starting with a letter or digit`;

/**
 * The valid name nearest to what a user typed: lowercased, accents dropped, every other run of characters a
 * "-", trimmed to the length (`Wine` → `wine`, `My Data.v2` → `my-data-v2`); undefined when nothing is left.
 */
export function suggestName(typed: string): string | undefined {
  const name = typed
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, NAME_MAX_LENGTH)
    .replace(/[-_]+$/, '');
  return NAME_PATTERN.test(name) ? name : undefined;
}

/** A name as an error message quotes it: JSON-quoted, and cut short when long (a message stays readable). */
export function quoteName(name: string, max = 64): string {
  return JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name);
}

/**
 * Why a dataset or model name is refused, with the valid form to use instead (`hint`: where to put it, e.g.
 * `datasets/<name>/`); undefined for a valid name.
 */
export function nameProblem(
  kind: 'dataset' | 'model',
  name: string,
  hint: (valid: string) => string = (valid) => `"${valid}"`,
): string | undefined {
  if (NAME_PATTERN.test(name)) return undefined;
  const suggestion = suggestName(name);
  return `${kind} name ${quoteName(name)} is not valid: a name is ${NAME_RULE}${
    suggestion ? `; use ${hint(suggestion)}` : ''
  }`;
}

/** Run ids: Step Functions execution names (1–80 of letters, digits, "-" and "_"). */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
