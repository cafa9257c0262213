import type { ErrorRequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../logger';
import { isDatabaseUnavailable } from '../db/failures';
import { currentTraceId } from '../trace';
import { AppError, type FieldProblem } from './app-error';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  traceId: string | undefined;
  errors?: FieldProblem[];
}

export function problemOf(error: AppError, traceId: string | undefined = currentTraceId()): Problem {
  const problem: Problem = {
    type: `urn:live-tipping:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.detail,
    code: error.code,
    traceId,
  };
  if (error.errors) problem.errors = error.errors;
  return problem;
}

export function sendProblem(res: Response, error: AppError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const traceId = typeof res.locals['traceId'] === 'string' ? res.locals['traceId'] : currentTraceId();
  res
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemOf(error, traceId)));
}

/** `items.0.amount` -> `items[0].amount`, as API.md shows field paths. */
export function fieldPath(path: ReadonlyArray<PropertyKey>, root?: string): string {
  let out = root ?? '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || root || 'body';
}

export function zodProblems(error: ZodError, root?: string): FieldProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldPath([...issue.path, key], root), message: 'is not an allowed field' }))
      : [{ field: fieldPath(issue.path, root), message: issue.message }],
  );
}

/**
 * The shape body-parser, raw-body and http-errors give a client's mistake: a 4xx `status` (or
 * `statusCode`) and `expose: true`; `type` is missing when body-parser wraps a stream's own error
 * (gzip, deflate or br that is not valid compressed data, a connection cut mid-body).
 */
interface ExposedHttpError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
}

function exposedClientStatus(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  const { status, statusCode, expose } = error as ExposedHttpError;
  const code = typeof status === 'number' ? status : statusCode;
  return expose === true && typeof code === 'number' && code >= 400 && code < 500 ? code : null;
}

/** Only the request readers raise such errors, so every one of them is about the body. */
function bodyReadProblem(status: number): AppError {
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', 413, 'The request body is larger than allowed.');
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'The body encoding or charset is not supported.');
  return AppError.validation(
    [{ field: 'body', message: 'could not be read: it is incomplete, or not valid data for its Content-Encoding' }],
    'The request body could not be read.',
  );
}

/** Maps anything thrown to an AppError a client may see; `internal` marks the ones to log loudly. */
export function toAppError(error: unknown): { appError: AppError; internal: boolean } {
  if (error instanceof AppError) return { appError: error, internal: error.status >= 500 && error.status !== 503 };
  if (error instanceof ZodError) return { appError: AppError.validation(zodProblems(error)), internal: false };
  // The router decodes path parameters before any handler runs; bad percent-encoding is the client's.
  if (error instanceof URIError) {
    return {
      appError: AppError.validation(
        [{ field: 'path', message: 'is not valid percent-encoding' }],
        'The path is not valid percent-encoding.',
      ),
      internal: false,
    };
  }
  const clientStatus = exposedClientStatus(error);
  if (clientStatus !== null) return { appError: bodyReadProblem(clientStatus), internal: false };
  if (isDatabaseUnavailable(error)) return { appError: AppError.unavailable(), internal: false };
  return {
    appError: new AppError('INTERNAL_ERROR', 500, 'Something went wrong on our side; the trace id helps us find it.'),
    internal: true,
  };
}

export function errorHandler(logger: Logger, onProblem: (code: string, status: number) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const { appError, internal } = toAppError(error);
    if (internal) logger.error({ err: error }, 'unhandled error');
    else if (appError.status >= 500) logger.warn({ err: error, code: appError.code }, 'dependency unavailable');
    onProblem(appError.code, appError.status);
    sendProblem(res, appError);
  };
}
