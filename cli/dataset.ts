/**
 * `npm run dataset -- report <name> [--version <v>] [--json]`: a dataset version's validation report, as a
 * person fixing the file reads it (or as JSON). Against `npm start`'s platform (its endpoints file), or, when
 * the NIMBUS_DATASETS_BUCKET / NIMBUS_DATASETS_TABLE variables are set (the stack's outputs), against AWS.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { ENV } from '../core/contract.ts';
import type { ValidationReport } from '../core/validation.ts';
import { type LocalEndpoints, platformEnvironment } from '../local/platform.ts';

const program = new Command('dataset').description('Dataset versions of the platform');

program
  .command('report')
  .description("a dataset version's validation report (the newest version unless --version)")
  .argument('<name>', 'dataset name')
  .option('--version <version>', 'dataset version (a prefix of its content hash)')
  .option('--json', 'print the report as JSON')
  .option('--endpoints-file <file>', 'the local platform to ask', '.nimbus/endpoints.json')
  .action(async (name: string, options: { version?: string; json?: boolean; endpointsFile: string }) => {
    const file = resolve(options.endpointsFile);
    if (!process.env[ENV.datasetsBucket] && existsSync(file)) {
      const endpoints = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
      Object.assign(process.env, platformEnvironment(endpoints));
    }
    // Loaded after the environment is set: clients read it when they are made.
    const { listDatasetVersions } = await import('../aws/registry.ts');
    const { getJson } = await import('../aws/object-store.ts');
    const { bucketName } = await import('../aws/config.ts');
    const versions = await listDatasetVersions(name);
    const version = options.version
      ? versions.find((v) => v.version.startsWith(options.version as string))
      : versions[versions.length - 1];
    if (!version) {
      throw new Error(
        versions.length === 0
          ? `no dataset "${name}"`
          : `dataset "${name}" has no version ${options.version} (versions: ${versions.map((v) => v.version).join(', ')})`,
      );
    }
    if (!version.reportKey) {
      throw new Error(
        `${name}@${version.version} has no validation report (image datasets and older versions have none)`,
      );
    }
    const report = await getJson<ValidationReport>(bucketName('datasets'), version.reportKey);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const lines = [
      `${name}@${version.version}  ${report.valid ? 'valid' : 'INVALID'}  ${report.rowCount} rows, ${report.format}${report.delimiter ? ` (${JSON.stringify(report.delimiter)})` : ''}, ${report.errors} error(s), ${report.warnings} warning(s)`,
      ...(version.previousVersion ? [`  previous version: ${version.previousVersion}`] : []),
      ...(report.label ? [`  label: ${report.label.name} (${report.label.task})`] : []),
      ...report.columns.map(
        (c) =>
          `  column ${c.name.padEnd(20)} ${c.role.padEnd(8)} ${c.type.padEnd(11)} missing ${(c.missingRatio * 100).toFixed(1).padStart(5)}%  distinct ${c.cardinality}`,
      ),
      ...report.findings.map((f) => `  ${f.severity.padEnd(7)} ${f.code.padEnd(20)} ${f.message}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
