/** Errors the platform raises on purpose. Each carries what a user needs to act on it. */
export class NimbusError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A dataset cannot be used: the message says why, `findings` says where. */
export class DatasetValidationError extends NimbusError {
  constructor(
    message: string,
    readonly findings: readonly string[] = [message],
  ) {
    super(message);
  }
}

/** A prediction request that does not match the model's input contract (HTTP 400). */
export class InvalidRequestError extends NimbusError {
  constructor(
    message: string,
    readonly field?: string,
    readonly instance?: number,
    /** Every wrong field, when the request had more than one (the message lists them too). */
    readonly problems?: readonly {
      readonly message: string;
      readonly field?: string;
      readonly instance: number;
    }[],
  ) {
    super(message);
  }
}

/** A request with more instances (or bytes) than one call may carry (HTTP 413). */
export class PayloadTooLargeError extends InvalidRequestError {}

/**
 * An image in a request that declares more pixels than one image may have (core/limits.ts MAX_IMAGE_PIXELS):
 * refused from its header, never decoded (HTTP 400).
 */
export class ImageTooLargeError extends InvalidRequestError {}

/** A request body that is not JSON by its content type (HTTP 415). */
export class UnsupportedMediaTypeError extends InvalidRequestError {}

/** A model, version or alias that does not exist (HTTP 404). */
export class NotFoundError extends NimbusError {}

/** The caller's credential does not open what it asked for: an API key outside its scope (HTTP 403). */
export class ForbiddenError extends NimbusError {}

/** A conditional write lost a race or a precondition failed. */
export class ConflictError extends NimbusError {}

/** Configuration a process needs at start-up is missing or wrong. */
export class ConfigurationError extends NimbusError {}

/** A model file uploaded to be imported (an ONNX file, its manifest) cannot be used: the message says why. */
export class ModelImportError extends NimbusError {}

/** A version that cannot be written as ONNX (an image model, a model that is not dense): HTTP 409. */
export class ModelExportError extends ConflictError {}
