/**
 * A version as one ONNX file (`GET …/versions/{version}/model.onnx`): one of ours is written by
 * core/onnx-export.ts from its folder (preprocessing, dense layers, an ensemble's members and combination) the
 * first time it is asked for, and kept beside them as `export.onnx`; an imported one is its own `model.onnx`,
 * as it was uploaded (never written here). The answer is a 303 to a link valid for a few minutes: a file of
 * any size, not through the API's 6 MB answers.
 */
import { requireModelVersion } from '../../aws/model-registry.ts';
import {
  downloadUrl,
  getBytes,
  getBytesIfExists,
  getJson,
  headObject,
  putBytes,
} from '../../aws/object-store.ts';
import { denseModelSteps } from '../../core/dense-model.ts';
import type { EnsembleManifest } from '../../core/ensemble.ts';
import { ModelExportError, NotFoundError } from '../../core/errors.ts';
import { ARTIFACTS } from '../../core/keys.ts';
import type { ModelFiles } from '../../core/model-files.ts';
import type { ModelVersion } from '../../core/model-registry.ts';
import { checkExportable, exportOnnx, ONNX_EXPORT_FORMAT } from '../../core/onnx-export.ts';
import type { AnyPreprocessor } from '../../core/preprocessor.ts';
import { artifactsBucket, logger, modelParam, route, versionParam } from './api.ts';

/** How long a download link opens the file. */
export const DOWNLOAD_SECONDS = 300;

/** The user metadata that marks an export, and of which format (an export of another is written again). */
const EXPORT_METADATA = 'nimbus-export';

route('getVersionOnnx', async ({ params }) => {
  const version = await requireModelVersion(modelParam(params), versionParam(params));
  const prefix = version.artifactPrefix;
  const imported = (await getBytesIfExists(artifactsBucket, prefix + ARTIFACTS.onnxBinding)) !== undefined;
  const key = prefix + (imported ? ARTIFACTS.onnx : ARTIFACTS.onnxExport);
  if (!imported && (await exportFormat(key)) !== ONNX_EXPORT_FORMAT) {
    const started = performance.now();
    const bytes = exportOnnx({
      model: version.model,
      version: version.version,
      ...(await exportSource(version)),
    });
    await putBytes(artifactsBucket, key, bytes, 'application/octet-stream', {
      metadata: { [EXPORT_METADATA]: ONNX_EXPORT_FORMAT },
    });
    logger.info('exported a version as ONNX', {
      model: version.model,
      version: version.version,
      bytes: bytes.byteLength,
      ms: Math.round(performance.now() - started),
    });
  }
  const location = await downloadUrl(
    artifactsBucket,
    key,
    `${version.model}-v${version.version}.onnx`,
    DOWNLOAD_SECONDS,
  );
  return new Response(null, { status: 303, headers: { Location: location, 'Cache-Control': 'no-store' } });
});

/** The export format of the folder's export, or undefined for none. */
async function exportFormat(key: string): Promise<string | undefined> {
  try {
    return (await headObject(artifactsBucket, key)).metadata?.[EXPORT_METADATA];
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * What an export reads of a version's folder: its preprocessor, its members' layers, their combination. A
 * file missing from the folder is a 409 naming the file (never the bucket).
 */
async function exportSource(version: ModelVersion) {
  const prefix = version.artifactPrefix;
  const missing = (file: string) => (error: unknown) => {
    if (!(error instanceof NotFoundError)) throw error;
    logger.error('a version folder lacks a file', { model: version.model, version: version.version, file });
    throw new ModelExportError(
      `version ${version.version} of ${version.model} has no ${file} in its folder: it cannot be exported`,
    );
  };
  const [preprocessor, ensembleBytes] = await Promise.all([
    getJson<AnyPreprocessor>(artifactsBucket, prefix + ARTIFACTS.preprocessor).catch(
      missing(ARTIFACTS.preprocessor),
    ),
    getBytesIfExists(artifactsBucket, prefix + ARTIFACTS.ensemble),
  ]);
  const ensemble = ensembleBytes
    ? (JSON.parse(new TextDecoder().decode(ensembleBytes)) as EnsembleManifest)
    : undefined;
  const folders = ensemble ? ensemble.members.map((member) => member.folder) : [''];
  const weightsFile = (folder: string) => `${folder}${ARTIFACTS.weights}`;
  // An image model is refused by its preprocessor, and weights past the limit by their size, before any
  // weights are read.
  const sizes =
    preprocessor.kind === 'tabular'
      ? await Promise.all(
          folders.map(async (folder) =>
            headObject(artifactsBucket, prefix + weightsFile(folder)).then(
              (head) => head.size ?? 0,
              missing(weightsFile(folder)),
            ),
          ),
        )
      : [];
  checkExportable(
    `version ${version.version} of ${version.model}`,
    preprocessor,
    sizes.reduce((a, b) => a + b, 0),
  );
  const members = await Promise.all(
    folders.map(async (folder) => {
      const [modelJson, weights] = await Promise.all([
        getJson<ModelFiles['modelJson']>(artifactsBucket, `${prefix}${folder}${ARTIFACTS.modelJson}`).catch(
          missing(`${folder}${ARTIFACTS.modelJson}`),
        ),
        getBytes(artifactsBucket, prefix + weightsFile(folder)).catch(missing(weightsFile(folder))),
      ]);
      return denseModelSteps({ modelJson, weights });
    }),
  );
  return { preprocessor, members, ...(ensemble ? { ensemble } : {}) };
}
