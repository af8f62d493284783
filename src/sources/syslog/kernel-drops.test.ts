import { describe, expect, it } from 'vitest';
import { parseProcUdp } from './kernel-drops.js';

describe('parseProcUdp', () => {
  it('reads port, inode and drops from /proc/net/udp and udp6 rows', () => {
    const udp = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  123: 0100007F:15BA 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81234 2 0000000000000000 42',
      '  124: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81299 2 0000000000000000 0',
      'garbage',
    ].join('\n');
    expect(parseProcUdp(udp)).toEqual([
      { port: 5562, inode: 81234, drops: 42 },
      { port: 514, inode: 81299, drops: 0 },
    ]);
    const udp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  7: 00000000000000000000000001000000:15BA 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 90001 2 0000000000000000 7',
    ].join('\n');
    expect(parseProcUdp(udp6)).toEqual([{ port: 5562, inode: 90001, drops: 7 }]);
  });
});
