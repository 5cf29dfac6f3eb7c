/** `nimbus models`: the model registry — versions, aliases (promote, roll back), statuses and their history. */
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type Command, Option } from 'commander';
import type { AliasView, ModelDetail, ModelSummary, StatusChangeResult } from '../../core/api-types.ts';
import { PRODUCTION_ALIAS } from '../../core/contract.ts';
import { formatBytes } from '../../core/limits.ts';
import type { AliasEntry, AliasState, AuditEntry, ModelVersion } from '../../core/model-registry.ts';
import { registryPath } from '../api.ts';
import { action, type Context, MODELS_HINT, positiveInt, required } from '../context.ts';
import { CliError, type Column, EXIT, metric, table, time } from '../output.ts';

const stateText = (state: AliasState | undefined): string | undefined =>
  state
    ? `v${state.version}${state.canary ? ` + canary v${state.canary.version} (${Math.round(state.canary.weight * 100)}%)` : ''}`
    : undefined;

const METRIC_COLUMNS = [
  'accuracy',
  'macroF1',
  'weightedF1',
  'rocAuc',
  'logLoss',
  'rmse',
  'mae',
  'r2',
  'mape',
] as const;

const aliasOption = () => new Option('--alias <alias>', 'the alias').default(PRODUCTION_ALIAS);
const reasonOption = () =>
  required(new Option('--reason <text>', 'why: kept in the audit log with who and when'));

function renderAliasChange(ctx: Context, entry: AliasEntry): void {
  ctx.render(entry, (e) => [
    `${e.alias} of ${e.model}: ${stateText(e.previous) ?? 'nothing'} -> ${stateText(e.state)} (${e.action}, revision ${e.revision})`,
  ]);
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('the model registry: versions, aliases, their history');

  models
    .command('list')
    .description('every model: its newest version and the version production serves')
    .action(
      action(async (ctx) => {
        const api = await ctx.api();
        const { models: list } = await api.get<{ models: ModelSummary[] }>(registryPath('models'));
        const rows = await Promise.all(
          list.map(async (m) => {
            const { aliases } = await api.get<{ aliases: AliasView[] }>(
              registryPath('models', m.model, 'aliases'),
            );
            return { ...m, aliases };
          }),
        );
        ctx.render({ models: rows }, () =>
          rows.length === 0
            ? ['no models yet: nimbus datasets upload <file> trains one']
            : table(rows, [
                { header: 'MODEL', value: (m) => m.model },
                { header: 'LATEST', value: (m) => `v${m.latestVersion}` },
                {
                  header: 'PRODUCTION',
                  value: (m) => stateText(m.aliases.find((a) => a.alias === PRODUCTION_ALIAS)),
                },
                {
                  header: 'ALIASES',
                  value: (m) => m.aliases.map((a) => `${a.alias}=v${a.version}`).join(' ') || undefined,
                },
              ]),
        );
      }),
    );

  models
    .command('show')
    .description("a model's versions (metrics, status, lineage) and aliases")
    .argument('<model>', 'model name')
    .action(
      action(async (ctx, model: string) => {
        const shown = await (await ctx.api()).get<ModelDetail>(registryPath('models', model), {
          notFoundHint: MODELS_HINT,
        });
        ctx.render(shown, showLines);
      }),
    );

  models
    .command('import')
    .description(
      'import a model trained elsewhere (an ONNX file): the pipeline checks, evaluates and gates it',
    )
    .argument('<model>', 'model name (a new model, or a new version of one)')
    .argument('<file>', 'the .onnx file')
    .option(
      '--manifest <model.json>',
      'labels, input names, output kind, evaluation table, gate (docs: README)',
    )
    .action(
      action(async (ctx, model: string, file: string, options: { manifest?: string }) => {
        const store = await ctx.datasets();
        const uploaded = await store.importModel(model, file, options.manifest);
        ctx.render({ model, ...uploaded }, () => [
          `uploaded ${uploaded.key} (${uploaded.bytes} bytes): the pipeline imports it as a new version of ${model}`,
          `follow it with: nimbus runs list --dataset ${model}`,
        ]);
      }),
    );

  models
    .command('export')
    .description(
      'download a version as one ONNX file, its preprocessing included, to run in any ONNX runtime (README: bring your own model)',
    )
    .argument('<model>', 'model name')
    .argument('[version]', 'version number (default: the one --alias names)', positiveInt('version'))
    .option('--alias <alias>', 'the version this alias names, when no version is given', PRODUCTION_ALIAS)
    .option('-o, --output <path>', 'the file, or a folder for <model>-v<version>.onnx (default: here)')
    .action(
      action(
        async (
          ctx,
          model: string,
          given: number | undefined,
          options: { alias: string; output?: string },
        ) => {
          const api = await ctx.api();
          const version =
            given ??
            (
              await api.get<AliasView>(registryPath('models', model, 'aliases', options.alias), {
                notFoundHint: MODELS_HINT,
              })
            ).version;
          const link = await api.downloadLink(
            registryPath('models', model, 'versions', version, 'model.onnx'),
            { notFoundHint: MODELS_HINT },
          );
          const name = `${model}-v${version}.onnx`;
          const output = options.output ?? name;
          const file = (await isFolder(output)) ? join(output, name) : output;
          const bytes = await download(link, file);
          ctx.render({ model, version, file, bytes }, () => [
            `wrote ${file} (${formatBytes(bytes)}): ${model} v${version} as ONNX, its preprocessing included`,
          ]);
        },
      ),
    );

  models
    .command('promote')
    .description('point an alias (production by default) at a version: it serves within a second')
    .argument('<model>', 'model name')
    .argument('<version>', 'version number', positiveInt('<version>'))
    .addOption(aliasOption())
    .addOption(reasonOption())
    .action(
      action(async (ctx, model: string, version: number, options: { alias: string; reason: string }) => {
        const entry = await (await ctx.api()).post<AliasEntry>(
          registryPath('models', model, 'aliases', options.alias),
          { version, reason: options.reason },
          { notFoundHint: MODELS_HINT },
        );
        renderAliasChange(ctx, entry);
      }),
    );

  models
    .command('rollback')
    .description("undo an alias's last change")
    .argument('<model>', 'model name')
    .addOption(aliasOption())
    .addOption(reasonOption())
    .action(
      action(async (ctx, model: string, options: { alias: string; reason: string }) => {
        const entry = await (await ctx.api()).post<AliasEntry>(
          registryPath('models', model, 'aliases', options.alias, 'rollback'),
          { reason: options.reason },
          { notFoundHint: MODELS_HINT },
        );
        renderAliasChange(ctx, entry);
      }),
    );

  for (const [verb, description] of [
    ['approve', 'approve a version (a run waiting for approval goes on to deploy it)'],
    ['reject', 'reject a version (a run waiting for approval does not deploy it)'],
    ['archive', 'archive a version: it no longer serves'],
  ] as const) {
    models
      .command(verb)
      .description(description)
      .argument('<model>', 'model name')
      .argument('<version>', 'version number', positiveInt('<version>'))
      .addOption(reasonOption())
      .action(
        action(async (ctx, model: string, version: number, options: { reason: string }) => {
          const entry = await (await ctx.api()).post<StatusChangeResult>(
            registryPath('models', model, 'versions', version, verb),
            { reason: options.reason },
            { notFoundHint: MODELS_HINT },
          );
          ctx.render(entry, (e) => [
            `${model} v${version}: ${e.status}`,
            ...(e.pipeline ? [e.pipeline] : []),
          ]);
        }),
      );
  }

  models
    .command('history')
    .description("an alias's changes, oldest first (--all: the model's whole audit log)")
    .argument('<model>', 'model name')
    .addOption(aliasOption())
    .option('--all', 'every change of the model: aliases and version statuses')
    .action(
      action(async (ctx, model: string, options: { alias: string; all?: boolean }) => {
        const api = await ctx.api();
        const entries: AuditEntry[] = options.all
          ? (await api.get<{ audit: AuditEntry[] }>(registryPath('models', model, 'audit'))).audit
          : (
              await api.get<{ history: AliasEntry[] }>(
                registryPath('models', model, 'aliases', options.alias, 'history'),
                {
                  notFoundHint: MODELS_HINT,
                },
              )
            ).history;
        ctx.render(options.all ? { audit: entries } : { history: entries }, () =>
          entries.length === 0
            ? [options.all ? `no changes of ${model}` : `${options.alias} of ${model} has never been set`]
            : table(entries, [
                { header: 'AT', value: (e) => time(e.at) },
                ...(options.all
                  ? [
                      {
                        header: 'WHAT',
                        value: (e: AuditEntry) => (e.kind === 'alias' ? e.alias : `v${e.version}`),
                      },
                    ]
                  : []),
                { header: 'REV', value: (e) => e.revision, right: true },
                { header: 'ACTION', value: (e) => e.action },
                {
                  header: 'FROM',
                  value: (e) => (e.kind === 'alias' ? stateText(e.previous) : e.previous),
                },
                { header: 'TO', value: (e) => (e.kind === 'alias' ? stateText(e.state) : e.status) },
                { header: 'BY', value: (e) => e.who },
                { header: 'REASON', value: (e) => e.why },
              ]),
        );
      }),
    );
}

/** No byte for this long and a download is given up. */
const DOWNLOAD_IDLE_MS = 60_000;

const isFolder = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/**
 * A link's file written to `file` as it arrives (a model of any size in constant memory), through a file beside
 * it that is renamed when complete: a failed or interrupted download leaves no half file under the name (nor
 * beside it, but for a kill). Given up after DOWNLOAD_IDLE_MS without a byte. Its size.
 */
async function download(link: string, file: string): Promise<number> {
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => idle.abort(new Error(`no data for ${DOWNLOAD_IDLE_MS / 1000} s`)),
      DOWNLOAD_IDLE_MS,
    );
  };
  const partial = `${file}.part`;
  const interrupted = () => {
    clearTimeout(timer);
    void rm(partial, { force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    touch();
    let response: Response;
    try {
      response = await fetch(link, { signal: idle.signal });
    } catch (error) {
      throw downloadFailed(error, idle.signal);
    }
    if (!response.ok || !response.body) {
      throw new CliError(
        `the download link answered HTTP ${response.status}`,
        EXIT.failed,
        'ask for it again: a link opens the file for 5 minutes',
      );
    }
    const body = Readable.fromWeb(response.body as WebReadableStream);
    body.on('data', touch);
    const sink = createWriteStream(partial);
    try {
      await pipeline(body, sink);
    } catch (error) {
      await rm(partial, { force: true });
      // A failure of the file's own (no space, no permission) is the file's; any other, the download's.
      if (sink.errored) {
        throw new CliError(`cannot write ${partial} (${(error as Error).message})`, EXIT.failed);
      }
      throw downloadFailed(error, idle.signal);
    }
    await rename(partial, file).catch(async (error: Error) => {
      await rm(partial, { force: true });
      throw new CliError(`cannot write ${file} (${error.message})`, EXIT.failed);
    });
    return (await stat(file)).size;
  } finally {
    clearTimeout(timer);
    process.removeListener('SIGINT', interrupted);
  }
}

function downloadFailed(error: unknown, idle: AbortSignal): CliError {
  const why = idle.aborted
    ? (idle.reason as Error).message
    : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
  return new CliError(
    `the download was interrupted (${why})`,
    EXIT.unreachable,
    'run the command again: it asks for a new link',
  );
}

/** `models show` for people: the versions (with the metrics any of them has), then the aliases. */
function showLines(shown: ModelDetail): string[] {
  const metrics = METRIC_COLUMNS.filter((m) => shown.versions.some((v) => v.metrics[m] !== undefined));
  const columns: Column<ModelVersion>[] = [
    { header: 'VERSION', value: (v) => v.version, right: true },
    { header: 'STATUS', value: (v) => v.status },
    ...metrics.map((m) => ({
      header: m.toUpperCase(),
      value: (v: ModelVersion) => metric(v.metrics[m]),
      right: true,
    })),
    { header: 'DATASET', value: (v) => v.lineage.datasetVersion },
    { header: 'RUN', value: (v) => v.lineage.runId },
    {
      header: 'ALIASES',
      value: (v) =>
        shown.aliases
          .filter((a) => a.version === v.version || a.canary?.version === v.version)
          .map((a) => (a.version === v.version ? a.alias : `${a.alias}(canary)`))
          .join(' ') || undefined,
    },
    { header: 'CREATED', value: (v) => time(v.createdAt) },
  ];
  return [
    `${shown.model}: ${shown.versions.length} version(s)`,
    ...table(shown.versions, columns),
    '',
    ...(shown.aliases.length === 0
      ? ['no aliases']
      : table(shown.aliases, [
          { header: 'ALIAS', value: (a) => a.alias },
          { header: 'SERVES', value: (a) => stateText(a) },
          { header: 'REV', value: (a) => a.revision, right: true },
          { header: 'CHANGED', value: (a) => time(a.changedAt) },
          { header: 'BY', value: (a) => a.changedBy },
          { header: 'REASON', value: (a) => a.reason },
        ])),
  ];
}
