import type { RequestHandler, Response } from 'express';
import { generateTraceId, isValidTraceId, runWithTrace, TRACE_HEADER } from '../trace';

/**
 * Honours a well-formed `X-Trace-Id`, else generates one; echoes it on every response and runs
 * the rest of the request inside its trace context.
 */
export function traceMiddleware(): RequestHandler {
  return (req, res, next) => {
    const offered = req.get(TRACE_HEADER);
    const fromClient = isValidTraceId(offered);
    const traceId = fromClient ? offered : generateTraceId();
    res.locals['traceId'] = traceId;
    res.locals['traceIdFromClient'] = fromClient;
    res.setHeader(TRACE_HEADER, traceId);
    runWithTrace({ traceId }, () => next());
  };
}

/**
 * Makes `candidate` the request's trace id when the client sent none of its own: a reward's
 * `traceId` then names the request everywhere — response header, problem body, request log line
 * and the reward's log chain. A well-formed header always wins. Returns the request's trace id.
 */
export function adoptTraceId(res: Response, candidate: unknown): string | undefined {
  if (res.locals['traceIdFromClient'] !== true && isValidTraceId(candidate)) {
    res.locals['traceId'] = candidate;
    res.locals['traceIdFromClient'] = true;
    res.setHeader(TRACE_HEADER, candidate);
  }
  return typeof res.locals['traceId'] === 'string' ? res.locals['traceId'] : undefined;
}
