/**
 * Seeds one database in a worker thread, so SQLite's synchronous driver does not block the
 * runner while PostgreSQL and the better-auth peer are being seeded at the same time. The
 * result (token plaintext included) comes back by postMessage: memory only.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { seedLatchkey } from './seed.mjs';

if (!isMainThread) {
  seedLatchkey(workerData).then(
    (result) => parentPort.postMessage({ result }),
    (error) => parentPort.postMessage({ error: error?.stack ?? String(error) }),
  );
}

export function seedInWorker(options) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: options });
    worker.once('message', (message) => {
      void worker.terminate();
      if (message.error) reject(new Error(message.error));
      else resolve(message.result);
    });
    worker.once('error', reject);
  });
}
