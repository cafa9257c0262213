import type { RequestHandler } from 'express';
import { generateTraceId, isValidTraceId, runWithTrace, TRACE_HEADER } from '../trace';

/**
 * Honours a well-formed `X-Trace-Id`, else generates one; echoes it on every response and runs
 * the rest of the request inside its trace context.
 */
export function traceMiddleware(): RequestHandler {
  return (req, res, next) => {
    const offered = req.get(TRACE_HEADER);
    const traceId = isValidTraceId(offered) ? offered : generateTraceId();
    res.locals['traceId'] = traceId;
    res.setHeader(TRACE_HEADER, traceId);
    runWithTrace({ traceId }, () => next());
  };
}
