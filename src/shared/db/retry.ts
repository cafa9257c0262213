import { isRetryableConflict } from './failures';

/**
 * Runs a transaction again when the database chose it as a deadlock victim (1213), saw a write
 * conflict (1020) or was busy — a few times, with a short jittered pause.
 */
export async function retryOnConflict<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isRetryableConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10));
    }
  }
}
