/** A message delivered again to the server that took it is answered like the first delivery, not taken twice. */
import { describe, expect, it } from 'vitest';
import { HandledMessages } from './handled.js';

function msg() {
  const m = { acks: 0, naks: 0, ack: () => void m.acks++, nak: () => void m.naks++ };
  return m;
}

describe('HandledMessages', () => {
  it('a message not seen before is not a repeat', () => {
    const h = new HandledMessages();
    expect(h.answerRepeat(1, msg(), 1000)).toBe(false);
  });

  it('a repeat of an acknowledged message is acknowledged at once', () => {
    const h = new HandledMessages();
    h.taken(7, true);
    const m = msg();
    expect(h.answerRepeat(7, m, 1000)).toBe(true);
    expect(m.acks).toBe(1);
  });

  it('a repeat while the first waits for the store is answered when the store answers: ack, or NAK and taken again', async () => {
    const h = new HandledMessages();
    let answer!: (ok: boolean) => void;
    h.taken(8, new Promise((r) => (answer = r)));
    const m = msg();
    expect(h.answerRepeat(8, m, 1000)).toBe(true);
    expect(m.acks + m.naks).toBe(0);
    answer(true);
    await new Promise((r) => setImmediate(r));
    expect(m.acks).toBe(1);

    let fail!: (ok: boolean) => void;
    h.taken(9, new Promise((r) => (fail = r)));
    const m2 = msg();
    h.answerRepeat(9, m2, 1000);
    fail(false);
    await new Promise((r) => setImmediate(r));
    expect(m2.naks).toBe(1);
    expect(h.answerRepeat(9, msg(), 1000)).toBe(false); // the next delivery is taken again
  });

  it('keeps at most its bound, the oldest forgotten first', () => {
    const h = new HandledMessages(3);
    for (let s = 1; s <= 5; s++) h.taken(s, true);
    expect(h.size).toBe(3);
    expect(h.answerRepeat(2, msg(), 0)).toBe(false);
    expect(h.answerRepeat(5, msg(), 0)).toBe(true);
  });
});
