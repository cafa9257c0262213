import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { generateTraceId, TRACE_HEADER } from '../trace';
import { AppError } from './app-error';
import { problemOf } from './problem';

/** What Node's HTTP parser refused before any route saw the request, as the problem a client gets. */
function problemFor(code: string | undefined): AppError {
  if (code === 'HPE_HEADER_OVERFLOW')
    return new AppError('HEADERS_TOO_LARGE', 431, 'The request line and headers are larger than allowed.');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('REQUEST_TIMEOUT', 408, 'The request was not sent completely in time.');
  return new AppError('MALFORMED_REQUEST', 400, 'The request is not valid HTTP/1.1.');
}

/**
 * Answers what Node's HTTP parser refuses (headers too large, broken framing, a request that never
 * finished) as problem+json with a trace id, like every other client error, instead of Node's bare
 * text; then closes the connection, since the rest of its bytes cannot be trusted.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const traceId = generateTraceId();
  const problem = problemFor(error.code);
  const body = JSON.stringify(problemOf(problem, traceId));
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
      `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${TRACE_HEADER}: ${traceId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The HTTP server of the service. An idle keep-alive socket is closed only after nginx's upstream
 * `keepalive_timeout` (60 s in nginx.conf) has passed, so nginx never sends a request on a socket
 * the instance is closing (a 502 for the client); headersTimeout must exceed keepAliveTimeout.
 * Parser errors are answered as problems.
 */
export function createHttpServer(listener: RequestListener): Server {
  const server = createServer(listener);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', answerClientError);
  return server;
}
