/** One field-level problem, as listed in a problem+json `errors` array. */
export interface FieldProblem {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  errors?: FieldProblem[];
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * The one error type the code throws on purpose. `code` is stable and documented (API.md);
 * `status` is the HTTP status it maps to; `detail` is safe to show to the client.
 */
export class AppError extends Error {
  readonly errors: FieldProblem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: string,
    readonly status: number,
    readonly detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  static validation(errors: FieldProblem[], detail = 'The request is not valid.'): AppError {
    return new AppError('VALIDATION_FAILED', 400, detail, { errors });
  }

  static notFound(code: string, detail: string): AppError {
    return new AppError(code, 404, detail);
  }

  static forbidden(detail = 'You may not do this.'): AppError {
    return new AppError('FORBIDDEN', 403, detail);
  }

  static conflict(code: string, detail: string): AppError {
    return new AppError(code, 409, detail);
  }

  static unavailable(detail = 'A dependency is unavailable; try again shortly.', cause?: unknown): AppError {
    return new AppError('DEPENDENCY_UNAVAILABLE', 503, detail, { cause, headers: { 'Retry-After': '5' } });
  }
}
