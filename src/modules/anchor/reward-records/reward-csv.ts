import type { Response } from 'express';
import { formatFen } from '../../../shared/money';
import type { RewardRecordDto } from '../../audience/contract';
import { CSV_HEADER } from './reward-records.schemas';

/** RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record as a CSV line (CRLF-free: `\n`, as the header). Columns in CSV_HEADER's order. */
export function csvLine(r: RewardRecordDto): string {
  return `${[r.rechargeId, r.traceId, r.createdAt, r.liveRoomId, r.audienceId, formatFen(r.amountFen), r.status].map(csvField).join(',')}\n`;
}

/** How long a download may sit with the client reading nothing before it is given up (its statement holds a connection). */
const STALLED_CLIENT_MS = 60_000;

/** Writes a chunk; when the socket's buffer is full, waits until the client has taken it (backpressure). */
function writeAndWait(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => finish();
    const onClose = () => finish(new Error('the client closed the download'));
    const timer = setTimeout(() => finish(new Error(`the client read nothing for ${STALLED_CLIENT_MS} ms`)), STALLED_CLIENT_MS);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * Streams the pages as a CSV download, one write per page, reading the next page only once the
 * last was taken. The caller started the export already, so a failure to begin was answered as a
 * problem+json; once the header line is out the status cannot change any more, so a later failure
 * (the database, a stalled client) destroys the connection instead of ending it: the client sees a
 * truncated transfer (no final chunk), never a download that merely looks complete.
 */
export async function sendCsvDownload(
  res: Response,
  download: { filename: string; pages: AsyncIterable<RewardRecordDto[]>; onAbort: (error: unknown) => void },
): Promise<void> {
  const { filename, pages } = download;
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  res.setHeader('Cache-Control', 'no-store');
  try {
    await writeAndWait(res, `${CSV_HEADER}\n`);
    for await (const page of pages) await writeAndWait(res, page.map(csvLine).join(''));
    res.end();
  } catch (error) {
    res.destroy();
    download.onAbort(error);
  }
}
