/** An HTTP POST written by hand, for a server that answers before it has read the body. */
import net from 'node:net';

/**
 * A POST on a connection of its own, sent as a client that watches for an
 * early answer: the headers and the body's first 64 KiB, then the rest only
 * if no answer came within `waitMs` (a server refusing by Content-Length
 * answers and closes without reading the body; a client still writing then
 * gets EPIPE and may lose that answer unread, as fetch does). Resolves with
 * the answer's status (0: none within 10 s).
 */
export function rawPost(port: number, target: string, headers: Record<string, string>, body: Buffer, waitMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    const status = () => Number(/^HTTP\/1\.1 (\d{3}) /.exec(got)?.[1] ?? 0);
    const timer = setTimeout(() => c.destroy(), 10_000);
    /** Resolves on the next 'data', 'drain' or 'close' (whichever first), or after `ms`. */
    const next = (ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          for (const ev of ['data', 'drain', 'close']) c.off(ev, done);
          r();
        }
        for (const ev of ['data', 'drain', 'close']) c.on(ev, done);
      });
    c.on('data', (b: Buffer) => {
      got += b.toString('latin1');
    });
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(status());
    });
    c.on('connect', async () => {
      const head = Object.entries({ host: '127.0.0.1', 'content-length': String(body.length), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
      const CHUNK = 64 * 1024;
      c.write(`POST ${target} HTTP/1.1\r\n${head.join('')}\r\n`);
      c.write(body.subarray(0, CHUNK));
      for (const deadline = Date.now() + waitMs; status() === 0 && !c.destroyed && Date.now() < deadline; ) await next(deadline - Date.now());
      for (let at = CHUNK; at < body.length && status() === 0 && !c.destroyed; at += CHUNK) {
        if (!c.write(body.subarray(at, at + CHUNK))) await next(10_000);
      }
      if (status() !== 0) c.destroy();
      else c.once('data', () => c.destroy());
    });
  });
}
