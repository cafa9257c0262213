import type { IncomingMessage } from 'node:http';
import type { Test } from 'supertest';

/**
 * Lets a supertest request reach a Server-Sent Events route without waiting for the stream to end
 * (it never does): an event stream is read up to its headers and dropped, any other answer is read
 * whole and its JSON parsed as usual.
 */
export function readingStreamsHeadersOnly(test: Test): Test {
  return test.buffer(true).parse((response, done) => {
    // Node's superagent hands the parser the raw message, whatever its types say.
    const res = response as unknown as IncomingMessage;
    if (String(res.headers['content-type']).startsWith('text/event-stream')) {
      res.destroy();
      done(null, {});
      return;
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => {
      Object.assign(res, { text });
      try {
        done(null, text ? JSON.parse(text) : {});
      } catch {
        done(null, {});
      }
    });
  });
}
