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
  const parse = express.text({ type: () => true, limit, verify: rejectInvalidUtf8 });
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
