/**
 * Stacking: a meta-model that learns how to combine an ensemble's members from their predictions on rows none
 * of them trained on (the validation split). Its features are every member's outputs side by side — member
 * m's output j is feature `m × width + j` — and it is small, plain TypeScript and deterministic, so that
 * serving a stack of dense models still loads no tfjs:
 *
 * - a classifier's: multinomial logistic regression on the members' class probabilities, minimising the sum
 *   of the rows' cross-entropy plus α/2 of the squared coefficients and intercepts (the intercepts too: a
 *   class the validation rows lack then keeps a finite intercept), by Newton's method with conjugate-gradient
 *   steps (Hessian-vector products: no matrix of the parameters' size is formed) and a backtracking line
 *   search. Strictly convex, so the fit is the one minimum whatever the path.
 * - a regressor's: ridge regression on the members' predictions (in the standardized units the members
 *   predict), minimising the squared residuals plus α times the squared coefficients, intercept unpenalised:
 *   in closed form, (XcᵀXc + αI)⁻¹ Xcᵀyc on centred features and targets.
 *
 * The validation rows are also the ones that ranked the trials and chose each member's best epoch, so the
 * meta-model sees its members at their best there; out-of-fold predictions (the k folds of cross-validation)
 * would be cleaner where a search trains them. The penalty keeps a fit on few rows from trusting that much.
 */
import { NimbusError } from './errors.ts';

/** The meta-model of a `stack` ensemble, as `ensemble.json` holds it. */
export interface StackModel {
  readonly kind: 'logistic' | 'ridge';
  /** The L2 penalty α it was fitted with. */
  readonly regularization: number;
  /** Outputs per member: the classes of a classifier, 1 for a regressor. */
  readonly width: number;
  /** One row per output (class; one for ridge), one coefficient per feature (member × width). */
  readonly coefficients: readonly (readonly number[])[];
  readonly intercepts: readonly number[];
  /** Validation rows it was fitted on. */
  readonly rows: number;
}

/** Members' predictions that cannot be stacked: no rows, or members of different shapes. */
export class StackingError extends NimbusError {}

/** Newton iterations at most (a strictly convex fit converges in tens). */
const MAX_NEWTON = 100;

/** The fit stops when no gradient entry exceeds this, per row. */
const GRADIENT_TOLERANCE = 1e-10;

/**
 * Fits a stack's meta-model: `members` is member × row × output (probabilities of a classifier, the value of a
 * regressor), `labels` the rows' class indices (logistic) or targets (ridge).
 */
export function fitStack(
  kind: StackModel['kind'],
  members: readonly (readonly (readonly number[])[])[],
  labels: readonly number[],
  regularization: number,
): StackModel {
  const { x, width } = stackFeatures(members, labels.length);
  if (labels.length === 0) throw new StackingError('a stack needs validation rows to fit on; there are none');
  if (!(regularization > 0))
    throw new StackingError(`a stack's regularization must be above 0 (got ${regularization})`);
  const fitted =
    kind === 'ridge' ? fitRidge(x, labels, regularization) : fitLogistic(x, labels, width, regularization);
  return { kind, regularization, width, ...fitted, rows: labels.length };
}

/** The meta-model's outputs for the members' outputs (member × sample × output): sample × output. */
export function stackPredict(
  model: StackModel,
  members: readonly (readonly (readonly number[])[])[],
): number[][] {
  const rows = members[0]?.length ?? 0;
  const { x, width } = stackFeatures(members, rows);
  const features = model.coefficients[0]?.length ?? 0;
  if (width !== model.width || members.length * width !== features) {
    throw new StackingError(
      `the stack's meta-model takes ${features / Math.max(1, model.width)} members of ${model.width} outputs; got ${members.length} of ${width}`,
    );
  }
  return x.map((row) => {
    const z = linear(model.coefficients, model.intercepts, row);
    return model.kind === 'ridge' ? z : softmax(z);
  });
}

/** Every row's features: the members' outputs side by side. Checks that the members agree in shape. */
function stackFeatures(
  members: readonly (readonly (readonly number[])[])[],
  rows: number,
): { x: number[][]; width: number } {
  const width = members[0]?.[0]?.length ?? 0;
  if (members.length === 0 || width === 0) throw new StackingError('a stack needs members with outputs');
  const x: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const row: number[] = [];
    for (const [m, member] of members.entries()) {
      const out = member[i];
      if (!out || out.length !== width) {
        throw new StackingError(`member ${m} has no ${width} outputs for row ${i}`);
      }
      row.push(...out);
    }
    x.push(row);
  }
  return { x, width };
}

function linear(
  coefficients: readonly (readonly number[])[],
  intercepts: readonly number[],
  x: readonly number[],
): number[] {
  return coefficients.map((w, k) => {
    let z = intercepts[k] ?? 0;
    for (let j = 0; j < x.length; j++) z += (w[j] as number) * (x[j] as number);
    return z;
  });
}

function softmax(z: readonly number[]): number[] {
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Ridge in closed form: coefficients from the centred normal equations, the intercept from the means. */
function fitRidge(
  x: readonly (readonly number[])[],
  y: readonly number[],
  alpha: number,
): Pick<StackModel, 'coefficients' | 'intercepts'> {
  const n = x.length;
  const d = x[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (row[j] as number) / n;
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const a = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, k) => (j === k ? alpha : 0)));
  const b = new Array<number>(d).fill(0);
  for (const [i, row] of x.entries()) {
    const yc = (y[i] as number) - yMean;
    for (let j = 0; j < d; j++) {
      const xj = (row[j] as number) - (mean[j] as number);
      b[j] = (b[j] as number) + xj * yc;
      const aj = a[j] as number[];
      for (let k = 0; k < d; k++) aj[k] = (aj[k] as number) + xj * ((row[k] as number) - (mean[k] as number));
    }
  }
  const w = choleskySolve(a, b);
  const intercept = yMean - w.reduce((s, wj, j) => s + wj * (mean[j] as number), 0);
  return { coefficients: [w], intercepts: [intercept] };
}

/** Solves A w = b for a symmetric positive definite A (A + αI always is). */
function choleskySolve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const d = b.length;
  const l = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = (a[i] as number[])[j] as number;
      for (let k = 0; k < j; k++)
        sum -= ((l[i] as number[])[k] as number) * ((l[j] as number[])[k] as number);
      (l[i] as number[])[j] = i === j ? Math.sqrt(sum) : sum / ((l[j] as number[])[j] as number);
    }
  }
  const z = new Array<number>(d).fill(0);
  for (let i = 0; i < d; i++) {
    let sum = b[i] as number;
    for (let k = 0; k < i; k++) sum -= ((l[i] as number[])[k] as number) * (z[k] as number);
    z[i] = sum / ((l[i] as number[])[i] as number);
  }
  const w = new Array<number>(d).fill(0);
  for (let i = d - 1; i >= 0; i--) {
    let sum = z[i] as number;
    for (let k = i + 1; k < d; k++) sum -= ((l[k] as number[])[i] as number) * (w[k] as number);
    w[i] = sum / ((l[i] as number[])[i] as number);
  }
  return w;
}

/**
 * Multinomial logistic regression by Newton-CG. The parameters are one flat vector: class k's coefficients
 * at `k × (d + 1)`, its intercept after them.
 */
function fitLogistic(
  x: readonly (readonly number[])[],
  labels: readonly number[],
  classes: number,
  alpha: number,
): Pick<StackModel, 'coefficients' | 'intercepts'> {
  const n = x.length;
  const d = x[0]?.length ?? 0;
  const stride = d + 1;
  const size = classes * stride;
  for (const [i, label] of labels.entries()) {
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new StackingError(`row ${i}'s label ${label} is not one of the members' ${classes} classes`);
    }
  }
  const logits = (theta: Float64Array, row: readonly number[]): number[] =>
    Array.from({ length: classes }, (_, k) => {
      let z = theta[k * stride + d] as number;
      for (let j = 0; j < d; j++) z += (theta[k * stride + j] as number) * (row[j] as number);
      return z;
    });
  const objective = (theta: Float64Array): number => {
    let f = 0;
    for (const [i, row] of x.entries()) {
      const z = logits(theta, row);
      const top = Math.max(...z);
      const lse = top + Math.log(z.reduce((s, v) => s + Math.exp(v - top), 0));
      f += lse - (z[labels[i] as number] as number);
    }
    for (const t of theta) f += 0.5 * alpha * t * t;
    return f;
  };

  let theta = new Float64Array(size);
  let f = objective(theta);
  for (let iteration = 0; iteration < MAX_NEWTON; iteration++) {
    const p = x.map((row) => softmax(logits(theta, row)));
    const gradient = new Float64Array(size);
    for (let t = 0; t < size; t++) gradient[t] = alpha * (theta[t] as number);
    for (const [i, row] of x.entries()) {
      const pi = p[i] as number[];
      for (let k = 0; k < classes; k++) {
        const r = (pi[k] as number) - (k === labels[i] ? 1 : 0);
        for (let j = 0; j < d; j++)
          gradient[k * stride + j] = (gradient[k * stride + j] as number) + r * (row[j] as number);
        gradient[k * stride + d] = (gradient[k * stride + d] as number) + r;
      }
    }
    const gNorm = Math.max(...gradient.map(Math.abs));
    if (gNorm <= GRADIENT_TOLERANCE * Math.max(1, n)) break;

    // H v = Σᵢ x̃ᵢ ⊗ (diag(pᵢ) − pᵢpᵢᵀ)(V x̃ᵢ) + α v
    const hessianTimes = (v: Float64Array): Float64Array => {
      const out = new Float64Array(size);
      for (let t = 0; t < size; t++) out[t] = alpha * (v[t] as number);
      for (const [i, row] of x.entries()) {
        const pi = p[i] as number[];
        const u = logits(v, row);
        const pu = pi.reduce((s, pk, k) => s + pk * (u[k] as number), 0);
        for (let k = 0; k < classes; k++) {
          const s = (pi[k] as number) * ((u[k] as number) - pu);
          for (let j = 0; j < d; j++)
            out[k * stride + j] = (out[k * stride + j] as number) + s * (row[j] as number);
          out[k * stride + d] = (out[k * stride + d] as number) + s;
        }
      }
      return out;
    };
    const step = conjugateGradient(hessianTimes, gradient, Math.min(0.5, Math.sqrt(gNorm)));

    // Backtracking (Armijo) along the Newton step.
    const slope = dot(gradient, step);
    let t = 1;
    let next = theta;
    let fNext = f;
    for (let halving = 0; halving < 40; halving++) {
      next = theta.map((v, i) => v + t * (step[i] as number));
      fNext = objective(next);
      if (fNext <= f + 1e-4 * t * slope) break;
      t /= 2;
    }
    if (!(fNext < f)) break; // no step lowers the objective: at the minimum to rounding
    theta = next;
    f = fNext;
  }
  return {
    coefficients: Array.from({ length: classes }, (_, k) =>
      Array.from(theta.subarray(k * stride, k * stride + d)),
    ),
    intercepts: Array.from({ length: classes }, (_, k) => theta[k * stride + d] as number),
  };
}

/** Solves H s = −g by conjugate gradients, to a residual of `tolerance` × ‖g‖ (H positive definite). */
function conjugateGradient(
  times: (v: Float64Array) => Float64Array,
  g: Float64Array,
  tolerance: number,
): Float64Array {
  const size = g.length;
  const s = new Float64Array(size);
  const r = g.map((v) => -v);
  const direction = Float64Array.from(r);
  let rr = dot(r, r);
  const target = tolerance * tolerance * rr;
  for (let iteration = 0; iteration < size + 10 && rr > target && rr > 0; iteration++) {
    const hd = times(direction);
    const step = rr / dot(direction, hd);
    for (let i = 0; i < size; i++) {
      s[i] = (s[i] as number) + step * (direction[i] as number);
      r[i] = (r[i] as number) - step * (hd[i] as number);
    }
    const rrNext = dot(r, r);
    for (let i = 0; i < size; i++) direction[i] = (r[i] as number) + (rrNext / rr) * (direction[i] as number);
    rr = rrNext;
  }
  return s;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
