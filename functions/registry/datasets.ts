/** The registry's datasets: their versions and each version's validation report. */

import { listDatasets, listDatasetVersions } from '../../aws/dataset-versions.ts';
import { getBytesIfExists } from '../../aws/object-store.ts';
import type { ValidationReport } from '../../core/api-types.ts';
import { NotFoundError } from '../../core/errors.ts';

import { datasetParam, datasetsBucket, requireDatasetVersion, route } from './api.ts';

route('listDatasets', async () => ({ datasets: await listDatasets() }));

/** A dataset's versions, oldest first: status, rows, the run that registered each. */
route('getDataset', async ({ params }) => {
  const name = datasetParam(params);
  const versions = await listDatasetVersions(name);
  if (versions.length === 0) throw new NotFoundError(`no dataset "${name}"`);
  return { name, versions };
});

route('getDatasetVersion', async ({ params }) => requireDatasetVersion(params));

/** A tabular version's validation report (RegisterDataset wrote it next to the version's index). */
route('getDatasetReport', async ({ params }) => {
  const version = await requireDatasetVersion(params);
  const bytes = version.reportKey ? await getBytesIfExists(datasetsBucket, version.reportKey) : undefined;
  if (!bytes) {
    throw new NotFoundError(
      `${version.name}@${version.version} has no validation report (image datasets and older versions have none)`,
    );
  }
  return JSON.parse(new TextDecoder().decode(bytes)) as ValidationReport;
});
