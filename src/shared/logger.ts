import pino, { type Logger } from 'pino';
import { currentTraceId } from './trace';

export type { Logger };

/**
 * JSON logger whose every line carries the trace id of the request or job it runs under.
 * `destination` lets tests capture lines; production writes to stdout.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'live-tipping' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const traceId = currentTraceId();
      return traceId ? { traceId } : {};
    },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
