/** Free loopback ports for servers started as separate processes (which cannot report a port 0 back). */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

function tcpFree(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A high port free on 127.0.0.1 for TCP (and UDP too when `udp`). */
export async function freePort(udp = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await tcpFree(0);
    if (!udp || (await udpFree(p))) return p;
  }
  throw new Error('no free loopback port found');
}
