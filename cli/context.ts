/**
 * What every `nimbus` command shares: the global options, the platform they reach (resolved once, on first
 * use), how an action is wrapped, how it answers (`render`: JSON with `--json`, text otherwise), and the
 * parsers of its option values.
 */
import { type Command, InvalidArgumentError, type Option } from 'commander';
import { ApiClient } from './api.ts';
import { DatasetStore } from './datasets.ts';
import { CliError, EXIT, note, printLines, render } from './output.ts';
import { resolveTarget, type Target, type TargetOptions } from './target.ts';

export interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
}

/** What an action needs: the global options, and the platform (resolved once, on first use). */
export class Context {
  private targetPromise?: Promise<Target>;
  private apiClient?: ApiClient;
  private store?: DatasetStore;

  constructor(readonly options: GlobalOptions) {}

  get json(): boolean {
    return this.options.json === true;
  }

  target(): Promise<Target> {
    this.targetPromise ??= resolveTarget(this.options);
    return this.targetPromise;
  }

  async api(): Promise<ApiClient> {
    this.apiClient ??= new ApiClient(await this.target());
    return this.apiClient;
  }

  async datasets(): Promise<DatasetStore> {
    this.store ??= new DatasetStore(await this.target(), await this.api());
    return this.store;
  }

  /** The command's answer: `value` as JSON with `--json`, otherwise the lines `human` makes of it. */
  render<T>(value: T, human: (value: T) => readonly string[]): void {
    render(this.json, value, human);
  }

  /** Lines on stdout for people before the answer: nothing with `--json`, where stdout is the answer alone. */
  say(lines: readonly string[]): void {
    if (!this.json) printLines(lines);
  }

  /** A note on stderr for people: nothing with `--json`. */
  note(line: string): void {
    if (!this.json) note(line);
  }

  close(): void {
    this.store?.destroy();
  }
}

/** Wraps an action: builds its context from the global options and closes its clients after it. */
export function action<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<void>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const ctx = new Context(command.optsWithGlobals<GlobalOptions>());
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}

export const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} is a whole number from 1`);
  return n;
};

export const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('seconds: a number from 0');
  return n;
};

/** A polling interval: each poll is an API call (a Lambda invocation and S3 reads, in AWS). */
export const pollInterval = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.5) throw new InvalidArgumentError('seconds: a number from 0.5');
  return n;
};

/** The hint of a model (or version, or alias) that does not exist. */
export const MODELS_HINT = '`nimbus models list` shows the models';

/** Options marked `required` here are checked after the arguments, so that a missing argument is named first. */
const REQUIRED = new WeakSet<Option>();

/**
 * A mandatory option that commander checks only once the arguments are there (its own mandatory options are
 * checked before them: `models promote wine` would ask for --reason, not the version).
 */
export function required(option: Option): Option {
  REQUIRED.add(option);
  return option;
}

/** The `preAction` check of `required` options: a usage error naming the option and what it is for. */
export function checkRequiredOptions(_program: Command, command: Command): void {
  for (const option of command.options) {
    if (REQUIRED.has(option) && command.getOptionValue(option.attributeName()) === undefined) {
      throw new CliError(
        `missing required option ${option.flags}: ${option.description}`,
        EXIT.usage,
        `nimbus ${command.parent?.name() ?? ''} ${command.name()} --help`.replace(/\s+/g, ' '),
      );
    }
  }
}
