/** Many client connections at once, for tests that open and drop them. */
import net from 'node:net';

/** Open `n` connections to a Unix socket path (or a loopback port); resolves with each once it connected or failed. */
export function openMany(target: string | number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
      const c = typeof target === 'string' ? net.connect(target) : net.connect(target, '127.0.0.1');
      c.on('error', () => resolve(c));
      c.on('connect', () => resolve(c));
    })),
  );
}
