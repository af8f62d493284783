/**
 * A TCP link the test can cut and heal: a loopback listener that pipes each
 * connection to a target. Cut, it closes every piped connection and every new
 * one at once (a peer cut off from the target, while the target runs on for
 * everyone else: what one real server stopped cannot give). Closed by the test.
 */
import net from 'node:net';

export interface TcpLink {
  /** host:port to give the client instead of the target's. */
  readonly port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function tcpLink(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpLink> {
  let cut = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const up = net.connect(targetPort, targetHost);
    for (const [a, b] of [[client, up], [up, client]] as const) {
      open.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cut = true;
      for (const s of open) s.destroy();
    },
    heal() {
      cut = false;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
