import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';
import { AppError } from './app-error';

/**
 * Bytes that are not UTF-8 would be decoded to U+FFFD and stored silently changed; JSON between
 * systems is UTF-8 (RFC 8259), so such a body is the client's mistake. Another declared charset is
 * decoded as declared.
 */
function rejectInvalidUtf8(_req: IncomingMessage, _res: ServerResponse, bytes: Buffer, charset: string): void {
  if ((charset === 'utf-8' || charset === 'utf8') && !isUtf8(bytes)) {
    throw AppError.validation([{ field: 'body', message: 'is not valid UTF-8' }], 'The body is not valid UTF-8.');
  }
}

/**
 * Reads the body as text, within `limit` after any gzip, deflate or br decoding. body-parser pipes a
 * compressed body into a decompression stream that never ends when the client hangs up mid-body, so
 * the request would wait forever: a request closed before it was complete is settled here as
 * incomplete, whatever the parser is still waiting for.
 */
export function bodyReader(limit: string): RequestHandler {
  return settledOnClose(express.text({ type: () => true, limit, verify: rejectInvalidUtf8 }));
}

/**
 * For an operation that takes no body: one sent anyway is read and thrown away (over `limit`, 413),
 * so the answer is never written while an upload nobody reads is still arriving — with a large
 * answer (the OpenAPI document) and a large upload, each side waited for the other and the
 * connection was cut.
 */
export function bodyDiscarder(limit: string): RequestHandler {
  const read = settledOnClose(express.raw({ type: () => true, limit }));
  return (req, res, next) =>
    read(req, res, (error?: unknown) => {
      req.body = undefined;
      next(error);
    });
}

/** Runs a body parser, settling a request closed before its body was complete as incomplete (400). */
function settledOnClose(parse: RequestHandler): RequestHandler {
  return (req, res, next) => {
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      req.off('close', onClose);
      next(error);
    };
    const onClose = () => {
      if (!req.complete)
        settle(
          AppError.validation(
            [{ field: 'body', message: 'is incomplete: the client closed the connection' }],
            'The request body is incomplete.',
          ),
        );
    };
    req.once('close', onClose);
    parse(req, res, settle);
  };
}
