/**
 * Datasets as `nimbus datasets` reaches them: uploads go to the datasets bucket with the AWS SDK (which starts
 * a pipeline run, as `aws s3 cp` would); versions and validation reports are read through the registry API
 * with the API key, like the rest of the registry. Works on the local emulators (static credentials) and on a
 * stack (the default credential chain, for the upload only).
 */

import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DatasetSummary, DatasetVersionRecord, RunRecord } from '../core/api-types.ts';
import { runsOfVersion } from '../core/dataset.ts';
import { type DatasetTrigger, datasetTrigger, KEYS } from '../core/keys.ts';
import { nameProblem } from '../core/names.ts';
import type { ValidationReport } from '../core/validation/report.ts';
import { type ApiClient, HttpError, registryPath } from './api.ts';
import { CliError, EXIT } from './output.ts';
import { awsError, type Target } from './target.ts';

export type { DatasetSummary };

export interface Upload {
  readonly bucket: string;
  readonly key: string;
  readonly bytes: number;
  /** What the upload starts: a run (csv, jsonl, zip), a run over the folder (`_SUCCESS`), or nothing. */
  readonly trigger?: DatasetTrigger;
  /** The dataset version the content will be (csv, jsonl, zip: the first 16 hex digits of its SHA-256). */
  readonly version?: string;
  /** The version already registered with this content: the upload starts no new run. */
  readonly existing?: DatasetVersionRecord;
}

/** The default dataset name of a file: its base name without extension, when that is a valid name. */
export function datasetNameOf(file: string): string {
  const name = basename(file).replace(/\.[^.]*$/, '');
  const problem = nameProblem('dataset', name, (valid) => `--name ${valid}`);
  if (problem)
    throw new CliError(
      `${problem} (from ${basename(file)})`,
      EXIT.usage,
      'name the dataset with --name <dataset>',
    );
  return name;
}

export class DatasetStore {
  /** The S3 client, made (and the SDK loaded) on the first upload. */
  private s3?: S3Client;

  constructor(
    private readonly target: Target,
    private readonly api: ApiClient,
  ) {}

  private async client(): Promise<{ s3: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
    const sdk = await import('@aws-sdk/client-s3');
    const local = this.target.local;
    this.s3 ??= new sdk.S3Client({
      region: this.target.region,
      ...(local
        ? { credentials: { accessKeyId: local.accessKeyId, secretAccessKey: local.secretAccessKey } }
        : {}),
      maxAttempts: local ? 1 : 3,
      ...(local ? { endpoint: local.s3, forcePathStyle: true } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    return { s3: this.s3, sdk };
  }

  /** Uploads a file to `datasets/<name>/<file>`: the pipeline starts on it as on any upload. */
  async upload(file: string, name: string): Promise<Upload> {
    const bytes = readableSize(
      file,
      'upload one .csv, .jsonl or .zip file; for a folder of images, `aws s3 cp --recursive` it, then its _SUCCESS marker',
    );
    const problem = nameProblem('dataset', name, (valid) => `--name ${valid}`);
    if (problem) throw new CliError(problem, EXIT.usage);
    const key = `${KEYS.datasetPrefix(name)}${basename(file)}`;
    const trigger = datasetTrigger(basename(file));
    const hashed = trigger === 'csv' || trigger === 'jsonl' || trigger === 'zip';
    const version = hashed ? (await sha256(file)).slice(0, 16) : undefined;
    const existing = version === undefined ? undefined : await this.version(name, version);
    const { s3, sdk } = await this.client();
    await this.aws(`cannot upload to s3://${this.target.datasetsBucket}/${key}`, () =>
      s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.target.datasetsBucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: bytes,
        }),
      ),
    );
    return {
      bucket: this.target.datasetsBucket,
      key,
      bytes,
      ...(trigger ? { trigger } : {}),
      ...(version ? { version } : {}),
      ...(existing ? { existing } : {}),
    };
  }

  /**
   * Uploads a model trained elsewhere: its manifest first (`models/<name>/model.json`, when given), then the
   * `.onnx` file, whose arrival starts the import (the uploader in its `uploaded-by` metadata).
   */
  async importModel(name: string, file: string, manifest?: string): Promise<{ key: string; bytes: number }> {
    const bytes = readableSize(file, 'import one .onnx file');
    if (!/\.onnx$/i.test(file)) throw new CliError(`${file} is not an .onnx file`, EXIT.usage);
    const problem = nameProblem('model', name);
    if (problem) throw new CliError(problem, EXIT.usage);
    const { s3, sdk } = await this.client();
    const put = (key: string, path: string, size: number, metadata?: Record<string, string>) =>
      this.aws(`cannot upload to s3://${this.target.datasetsBucket}/${key}`, () =>
        s3.send(
          new sdk.PutObjectCommand({
            Bucket: this.target.datasetsBucket,
            Key: key,
            Body: createReadStream(path),
            ContentLength: size,
            ...(metadata ? { Metadata: metadata } : {}),
          }),
        ),
      );
    if (manifest)
      await put(KEYS.modelManifest(name), manifest, readableSize(manifest, 'a model.json manifest'));
    const key = `${KEYS.modelsPrefix}${name}/${basename(file)}`;
    await put(key, file, bytes, { 'uploaded-by': `nimbus CLI (${userInfo().username})` });
    return { key, bytes };
  }

  /** Waits (bounded) until RegisterDataset claims the version; its first run is the one the upload started. */
  async runOf(name: string, version: string, timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.version(name, version);
      if (record) return record.firstRunId;
      if (Date.now() > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * After uploading bytes seen before: when every run on them had failed, the run the upload starts (waited
   * for, bounded); otherwise the run that holds them (`live`), and no new run.
   */
  async rerunOf(
    existing: DatasetVersionRecord,
    timeoutMs: number,
  ): Promise<{ runId?: string; live?: string }> {
    const known = runsOfVersion(existing);
    for (const id of known) {
      const run = await this.api.get<RunRecord>(registryPath('runs', id)).catch((error: unknown) => {
        if (error instanceof HttpError && error.status === 404) return undefined; // still starting
        throw error;
      });
      if (run?.status !== 'FAILED') return { live: id };
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.version(existing.name, existing.version);
      const runIds = record?.runIds ?? [];
      if (runIds.length > known.length) return { runId: runIds[runIds.length - 1] as string };
      if (Date.now() > deadline) return {};
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** One version's record; undefined while no run has registered it. */
  async version(name: string, version: string): Promise<DatasetVersionRecord | undefined> {
    try {
      return await this.api.get<DatasetVersionRecord>(registryPath('datasets', name, 'versions', version));
    } catch (error) {
      // Not registered yet; any other 404 (a platform without this route) is an error of its own.
      if (error instanceof HttpError && error.status === 404 && /has no version/.test(error.message)) {
        return undefined;
      }
      throw error;
    }
  }

  /** Every dataset: its versions, the newest one's status and rows. */
  async list(): Promise<DatasetSummary[]> {
    return (await this.api.get<{ datasets: DatasetSummary[] }>(registryPath('datasets'))).datasets;
  }

  /** A dataset's versions, oldest first; not found when it has none. */
  async versions(name: string): Promise<DatasetVersionRecord[]> {
    const { versions } = await this.api.get<{ versions: DatasetVersionRecord[] }>(
      registryPath('datasets', name),
      {
        notFoundHint: '`nimbus datasets list` shows the datasets',
      },
    );
    return versions;
  }

  /** A version's validation report: the newest version's, or the one whose id starts with `prefix`. */
  async report(
    name: string,
    prefix?: string,
  ): Promise<{ version: DatasetVersionRecord; report: ValidationReport }> {
    const versions = await this.versions(name);
    const version = prefix ? versions.find((v) => v.version.startsWith(prefix)) : versions.at(-1);
    if (!version) {
      throw new CliError(
        `dataset "${name}" has no version ${prefix}`,
        EXIT.notFound,
        `its versions: ${versions.map((v) => v.version).join(', ')}`,
      );
    }
    const report = await this.api.get<ValidationReport>(
      registryPath('datasets', name, 'versions', version.version, 'report'),
    );
    return { version, report };
  }

  destroy(): void {
    this.s3?.destroy();
  }

  private async aws<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CliError) throw error;
      const failure = awsError(error, what);
      if (this.target.kind === 'local' && failure.exitCode === EXIT.unreachable) {
        throw new CliError(
          `cannot reach the local platform of ${this.target.source}`,
          EXIT.unreachable,
          'start it with `nimbus local up` (or `npm start`)',
          { cause: error },
        );
      }
      throw failure;
    }
  }
}

/** A validation report as a person fixing the file reads it. */
export function reportLines(name: string, version: DatasetVersionRecord, report: ValidationReport): string[] {
  return [
    `${name}@${version.version}  ${report.valid ? 'valid' : 'INVALID'}  ${report.rowCount} rows, ${report.format}${report.delimiter ? ` (${JSON.stringify(report.delimiter)})` : ''}, ${report.errors} error(s), ${report.warnings} warning(s)`,
    ...(version.previousVersion ? [`  previous version: ${version.previousVersion}`] : []),
    ...(report.label ? [`  label: ${report.label.name} (${report.label.task})`] : []),
    ...report.columns.map(
      (c) =>
        `  column ${c.name.padEnd(20)} ${c.role.padEnd(8)} ${c.type.padEnd(11)} missing ${(c.missingRatio * 100).toFixed(1).padStart(5)}%  distinct ${c.cardinality}`,
    ),
    ...report.findings.map((f) => `  ${f.severity.padEnd(7)} ${f.code.padEnd(20)} ${f.message}`),
  ];
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The size of a readable regular file, or the CLI's error for it. */
function readableSize(file: string, hint: string): number {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new CliError(`${file} is not a file`, EXIT.usage, hint);
    accessSync(file, constants.R_OK);
    return stat.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code}`, code === 'ENOENT' ? EXIT.notFound : EXIT.forbidden);
  }
}
