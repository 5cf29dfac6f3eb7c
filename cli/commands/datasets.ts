/** `nimbus datasets`: upload a file (it starts a pipeline run), list the datasets, their versions and reports. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { rowsOfVersion } from '../../core/dataset.ts';
import { action, seconds } from '../context.ts';
import { datasetNameOf, reportLines } from '../datasets.ts';
import { CliError, EXIT, table, time } from '../output.ts';
import { finishRun, followRun, runLines } from './runs.ts';

export function registerDatasets(program: Command): void {
  const datasets = program.command('datasets').description('dataset versions and their validation reports');

  datasets
    .command('upload')
    .description('upload a CSV, JSON Lines or zip file to datasets/<name>/: it starts a pipeline run')
    .argument('<file>', 'the file (a manifest named dataset.json is uploaded too, and starts nothing)')
    .option('--name <dataset>', 'dataset (and model) name (default: the file name without extension)')
    .option('--watch', 'follow the run until it ends (exit 1 when it fails)')
    .option('--timeout <seconds>', 'with --watch: give up after this long (0: never)', seconds, 0)
    .action(
      action(async (ctx, file: string, options: { name?: string; watch?: boolean; timeout: number }) => {
        const name = options.name ?? datasetNameOf(file);
        const store = await ctx.datasets();
        const upload = await store.upload(file, name);
        const uri = `s3://${upload.bucket}/${upload.key}`;
        const result = { dataset: name, ...upload, existing: undefined };
        if (!upload.version) {
          const starts = upload.trigger === 'folder' ? 'a run over the folder' : 'nothing by itself';
          return ctx.render({ ...result, runId: null }, () => [
            `uploaded ${uri} (${upload.bytes} bytes): it starts ${starts}`,
          ]);
        }
        // Bytes seen before start a new run only when every run on them failed (README, "What starts a run").
        const rerun = upload.existing ? await store.rerunOf(upload.existing, 60_000) : undefined;
        if (upload.existing && !rerun?.runId) {
          const runId = rerun?.live ?? upload.existing.firstRunId;
          return ctx.render({ ...result, runId, newRun: false }, () => [
            `uploaded ${uri}: the same content as ${name}@${upload.version}, registered by run ${runId}: no new run`,
          ]);
        }
        const runId = rerun?.runId ?? (await store.runOf(name, upload.version, 60_000));
        if (!runId) {
          throw new CliError(
            `uploaded ${uri}, but no run registered ${name}@${upload.version} within 60 s`,
            EXIT.failed,
            '`nimbus runs list --dataset <name>` shows whether it started',
          );
        }
        if (!options.watch) {
          return ctx.render({ ...result, runId, newRun: true }, () => [
            `uploaded ${uri} (${upload.bytes} bytes): dataset ${name}@${upload.version}`,
            `run ${runId} started; follow it with: nimbus runs watch ${runId}`,
          ]);
        }
        ctx.note(`uploaded ${uri}: run ${runId} started`);
        const run = await followRun(await ctx.api(), runId, { timeoutMs: options.timeout * 1000 });
        ctx.render({ ...result, runId, newRun: true, run }, () => runLines(run));
        finishRun(run);
      }),
    );

  datasets
    .command('list')
    .description('every dataset: its versions and the newest one')
    .action(
      action(async (ctx) => {
        const list = await (await ctx.datasets()).list();
        ctx.render({ datasets: list }, () =>
          list.length === 0
            ? ['no datasets yet: nimbus datasets upload <file>']
            : table(list, [
                { header: 'DATASET', value: (d) => d.name },
                { header: 'VERSIONS', value: (d) => d.versions, right: true },
                { header: 'LATEST', value: (d) => d.latestVersion },
                { header: 'STATUS', value: (d) => d.status },
                { header: 'ROWS', value: (d) => d.rows, right: true },
                { header: 'UPDATED', value: (d) => time(d.updatedAt) },
              ]),
        );
      }),
    );

  datasets
    .command('show')
    .description("a dataset's versions: rows, status, the run that registered each")
    .argument('<name>', 'dataset name')
    .action(
      action(async (ctx, name: string) => {
        const versions = await (await ctx.datasets()).versions(name);
        ctx.render({ name, versions }, () => [
          ...table(versions, [
            { header: 'VERSION', value: (v) => v.version },
            { header: 'STATUS', value: (v) => v.status },
            { header: 'ROWS', value: (v) => rowsOfVersion(v), right: true },
            { header: 'BYTES', value: (v) => v.size, right: true },
            { header: 'FILE', value: (v) => basename(v.key) },
            { header: 'RUN', value: (v) => v.firstRunId },
            { header: 'CREATED', value: (v) => time(v.createdAt) },
          ]),
          ...versions.flatMap((v) => (v.reason ? [`${v.version}: ${v.reason}`] : [])),
        ]);
      }),
    );

  datasets
    .command('report')
    .description("a dataset version's validation report (the newest version unless --version)")
    .argument('<name>', 'dataset name')
    .option('--version <version>', 'dataset version (a prefix of its content hash)')
    .action(
      action(async (ctx, name: string, options: { version?: string }) => {
        const { version, report } = await (await ctx.datasets()).report(name, options.version);
        ctx.render(report, () => reportLines(name, version, report));
      }),
    );
}
