/**
 * The monitoring API (`/v1/monitoring/...`, reads with the API key): alarm states and their history, and a
 * model's drift reports over time — what `nimbus monitor status` and the dashboard show.
 *
 * Its routes are those core/declaration.ts declares for it: alarms · alarms/history (`?limit=`, newest first) ·
 * models/{model}/drift (`?since=<ISO time>`, default the last 7 days; `?limit=`, the newest that many, default
 * 500; oldest first).
 * Input: API Gateway REST proxy event. Output: proxy result.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { alarmHistory, listAlarmStates } from '../../aws/alarms.ts';
import { bucketName } from '../../aws/config.ts';
import { getJson, listObjects, mapLimit } from '../../aws/object-store.ts';
import { DRIFT_THRESHOLD, type DriftReport } from '../../core/drift.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { KEYS } from '../../core/keys.ts';
import { nameProblem, quoteName } from '../../core/names.ts';
import { declaredApi } from '../http.ts';
import { keyScope } from '../key-scope.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('monitoring');
const artifactsBucket = bucketName('artifacts');
const { handle, route, complete } = declaredApi('monitoring', logger, keyScope);
const DAY_MS = 86_400_000;

route('listAlarms', async () => ({ alarms: await listAlarmStates() }));

route('alarmHistory', async ({ req }) => ({
  history: await alarmHistory(limitParam(new URL(req.url).searchParams, 100)),
}));

route('driftReports', async ({ params, req }) => {
  const model = params.model ?? '';
  const problem = nameProblem('model', model);
  if (problem) throw new NotFoundError(`no model ${quoteName(model)}: ${problem}`);
  const query = new URL(req.url).searchParams;
  const limit = limitParam(query, 500);
  const sinceText = query.get('since');
  const since = sinceText === null ? new Date(Date.now() - 7 * DAY_MS) : new Date(sinceText);
  // Reports exist from 1970 on; a time outside the years keys can carry is a bad request, not a crash.
  if (Number.isNaN(since.getTime()) || since.getUTCFullYear() < 1970 || since.getUTCFullYear() > 9999) {
    throw new InvalidRequestError(
      `"since" must be an ISO 8601 time from 1970 to 9999, not ${quoteName(sinceText ?? '')}`,
      'since',
    );
  }
  // Reports are keyed by time: list from the day `since` falls in, keep the newest `limit`.
  const prefix = KEYS.driftPrefix(model);
  const after = KEYS.driftReport(model, new Date(Math.floor(since.getTime() / DAY_MS) * DAY_MS - 1));
  const keys = (await listObjects(artifactsBucket, prefix, { after })).map((o) => o.key).slice(-limit);
  const reports = (await mapLimit(keys, 8, (key) => getJson<DriftReport>(artifactsBucket, key))).filter(
    (r) => r.windowEnd >= since.toISOString(),
  );
  return { model, threshold: reports.at(-1)?.threshold ?? DRIFT_THRESHOLD, reports };
});

function limitParam(query: URLSearchParams, fallback: number): number {
  const limit = query.get('limit');
  if (limit === null) return fallback;
  if (!/^[1-9]\d{0,3}$/.test(limit)) {
    throw new InvalidRequestError('"limit" must be a whole number from 1 to 9999', 'limit');
  }
  return Number(limit);
}

complete();

export function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  return handle(event, context);
}
