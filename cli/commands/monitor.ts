/** `nimbus monitor`: the alarms' states and each model's drift. */
import type { Command } from 'commander';
import type { AlarmStatus, DriftReport, DriftReports, ModelSummary } from '../../core/api-types.ts';
import { monitoringPath, registryPath } from '../api.ts';
import { action, MODELS_HINT } from '../context.ts';
import { CliError, EXIT, table, time } from '../output.ts';

interface ModelDrift {
  readonly model: string;
  readonly threshold: number;
  readonly report: DriftReport | null;
}

export function registerMonitor(program: Command): void {
  const monitor = program.command('monitor').description('alarms and drift');

  monitor
    .command('status')
    .description("the alarms' states and each model's newest drift report")
    .argument('[model]', 'only this model')
    .option('--check', 'exit 1 when an alarm is in ALARM (for scripts and CI)')
    .action(
      action(async (ctx, model: string | undefined, options: { check?: boolean }) => {
        const api = await ctx.api();
        const { alarms: all } = await api.get<{ alarms: AlarmStatus[] }>(monitoringPath('alarms'));
        const alarms = model ? all.filter((a) => a.model === model || a.model === undefined) : all;
        if (model) await api.get(registryPath('models', model), { notFoundHint: MODELS_HINT }); // exit 3 if unknown
        const names = model
          ? [model]
          : (await api.get<{ models: ModelSummary[] }>(registryPath('models'))).models.map((m) => m.model);
        const drift = await Promise.all(
          names.map(async (name): Promise<ModelDrift> => {
            const answer = await api.get<DriftReports>(`${monitoringPath('models', name, 'drift')}?limit=1`, {
              notFoundHint: MODELS_HINT,
            });
            return { model: name, threshold: answer.threshold, report: answer.reports.at(-1) ?? null };
          }),
        );
        const firing = alarms.filter((a) => a.state === 'ALARM');
        ctx.render({ alarms, drift }, statusLines);
        if (options.check && firing.length > 0) {
          throw new CliError(
            `${firing.length} alarm(s) in ALARM: ${firing.map((a) => a.name).join(', ')}`,
            EXIT.failed,
          );
        }
      }),
    );
}

/** The drift report's three features that drifted most, with their PSI. */
const topFeatures = (report: DriftReport) =>
  Object.entries(report.features)
    .sort(([, a], [, b]) => b.psi - a.psi)
    .slice(0, 3)
    .map(([feature, f]) => `${feature} ${f.psi.toFixed(3)}`)
    .join(', ');

/** `monitor status` for people: the alarms, then each model's drift. */
function statusLines({ alarms, drift }: { alarms: AlarmStatus[]; drift: ModelDrift[] }): string[] {
  return [
    ...(alarms.length === 0
      ? ['no alarms']
      : table(alarms, [
          { header: 'ALARM', value: (a) => a.name },
          { header: 'KIND', value: (a) => a.kind },
          { header: 'MODEL', value: (a) => a.model },
          { header: 'STATE', value: (a) => a.state },
          { header: 'SINCE', value: (a) => time(a.updatedAt) },
          { header: 'REASON', value: (a) => a.reason },
        ])),
    '',
    ...(drift.length === 0
      ? ['no models']
      : table(drift, [
          { header: 'MODEL', value: (d) => d.model },
          {
            header: 'DRIFT',
            value: (d) => (d.report ? d.report.score.toFixed(3) : undefined),
            right: true,
          },
          { header: 'THRESHOLD', value: (d) => d.threshold, right: true },
          {
            header: 'STATE',
            value: (d) => (d.report ? (d.report.score > d.threshold ? 'DRIFTING' : 'OK') : 'NO DATA'),
          },
          { header: 'SAMPLES', value: (d) => d.report?.samples, right: true },
          { header: 'WINDOW END', value: (d) => time(d.report?.windowEnd) },
          { header: 'TOP FEATURES (PSI)', value: (d) => (d.report ? topFeatures(d.report) : undefined) },
        ])),
  ];
}
