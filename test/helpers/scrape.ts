/** Reading a running server's /metrics in tests: the text over HTTPS (test certificates), and one sample's value. */
import { request } from 'node:https';

/** GET `path` from the HTTPS listener on `port` (loopback, test certificate not verified); the body as text. */
export function httpsText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

/** The value of the first sample line matching `line`, or 0 while there is none (a counter not yet flushed). */
export function sampleOrZero(metrics: string, line: RegExp): number {
  const m = metrics.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}
