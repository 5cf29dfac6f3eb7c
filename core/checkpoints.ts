/**
 * Which epoch checkpoints a training job keeps: the latest (what a retried job resumes from) and the best
 * (the lowest validation loss of those checkpointed), so that a job resumed after its best epoch still ends on
 * that epoch's weights under early stopping (core/model-training.ts). Every other folder goes once a newer
 * one is saved: at most two checkpoints a job.
 */

export interface KeptCheckpoint {
  readonly epoch: number;
  readonly folder: string;
  /** Its validation loss (absent without validation data: then no checkpoint is kept as the best). */
  readonly validationLoss?: number;
}

export interface CheckpointsKept {
  readonly latest?: KeptCheckpoint;
  readonly best?: KeptCheckpoint;
}

/** After `saved` is written: what the job keeps, and the folders it no longer needs. */
export function keepCheckpoints(
  kept: CheckpointsKept,
  saved: KeptCheckpoint,
): { kept: CheckpointsKept; discard: string[] } {
  const loss = saved.validationLoss;
  const better =
    loss !== undefined &&
    Number.isFinite(loss) &&
    !((kept.best?.validationLoss ?? Number.POSITIVE_INFINITY) <= loss);
  const best = better ? saved : kept.best;
  const next: CheckpointsKept = { latest: saved, ...(best ? { best } : {}) };
  const keep = new Set([saved.folder, best?.folder]);
  const discard = [kept.latest?.folder, kept.best?.folder].filter(
    (folder): folder is string => folder !== undefined && !keep.has(folder),
  );
  return { kept: next, discard: [...new Set(discard)] };
}
