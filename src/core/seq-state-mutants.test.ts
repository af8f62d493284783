/**
 * SeqState at its edges (mutation testing): what load accepts as `reserved`
 * (and that it refuses a file it cannot use rather than count from 0),
 * when ensure writes the next block (and what), close writing the exact last
 * seq, and the file replaced whole (no temporary left behind).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeqState } from './seq-state.js';

const BLOCK = 1_000_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-seq-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A SeqState over a fresh data_dir (nested, not yet made), with its file's content as written. */
function fresh(content?: string) {
  const dir = path.join(root, `t${n++}`, 'data');
  if (content !== undefined) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'hub-seq.json'), content);
  }
  const s = new SeqState(dir);
  const file = path.join(dir, 'hub-seq.json');
  return { s, dir, file, reserved: () => (JSON.parse(fs.readFileSync(file, 'utf8')) as { reserved: unknown }).reserved };
}

describe('SeqState', () => {
  it('makes data_dir and names its file hub-seq.json in it', () => {
    const { s, dir, file } = fresh();
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(s.path).toBe(file);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('load: 0 without a file, the safe integer >= 0 reserved (0: a clean stop before any record), and a throw for a file it cannot use', () => {
    expect(fresh().s.load()).toBe(0);
    for (const bad of ['{"reserved":', 'null', '', '[]', '{}']) {
      expect(() => fresh(bad).s.load(), bad).toThrow(/holds no usable seq reservation .*remove it to count from 0/);
    }
    for (const bad of ['-1', '-5', '1.5', '"abc"', '"42"', 'true', 'null', 'false', '9007199254740992', '[]', '{}']) {
      expect(() => fresh(`{"reserved":${bad}}`).s.load(), bad).toThrow(/hub-seq\.json holds no usable seq reservation/);
    }
    expect(fresh('{"reserved":0}').s.load()).toBe(0);
    expect(fresh('{"reserved":1}').s.load()).toBe(1);
    expect(fresh('{"reserved":9007199254740991}').s.load()).toBe(9007199254740991);
    // a file that exists but cannot be read (here: a directory) is not "no file"
    const { s, file } = fresh();
    fs.mkdirSync(file);
    expect(() => s.load()).toThrow(/cannot read .*hub-seq\.json/);
  });

  it('ensure writes seq + BLOCK once seq is past half a block below the reservation, not before', () => {
    const { s, file, reserved } = fresh(JSON.stringify({ reserved: 5 * BLOCK }));
    expect(s.load()).toBe(5 * BLOCK);
    s.ensure(5 * BLOCK - BLOCK / 2); // exactly half a block left: enough
    expect(reserved()).toBe(5 * BLOCK);
    s.ensure(5 * BLOCK - BLOCK / 2 + 1);
    expect(reserved()).toBe(6 * BLOCK - BLOCK / 2 + 1);
    // the new reservation is what later calls compare with
    s.ensure(6 * BLOCK - BLOCK); // half a block + 1 left
    expect(reserved()).toBe(6 * BLOCK - BLOCK / 2 + 1);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['hub-seq.json']);
  });

  it('load answers from the file, not from memory: a file gone bad throws even after a reservation', () => {
    const { s, file } = fresh();
    s.ensure(s.load());
    fs.writeFileSync(file, '{"reserved":');
    expect(() => s.load()).toThrow(/no usable seq reservation/);
    fs.writeFileSync(file, '{"reserved":77}');
    expect(s.load()).toBe(77);
  });

  it('ensure after a fresh load reserves a block at once', () => {
    const a = fresh();
    a.s.ensure(a.s.load());
    expect(a.reserved()).toBe(BLOCK);
  });

  it('a clean stop before any record writes 0, and the next start loads it', () => {
    const { s, dir } = fresh();
    s.ensure(s.load());
    s.close(0);
    expect(new SeqState(dir).load()).toBe(0);
  });

  it('close writes the exact last seq (lower than the reservation), and the next load starts there', () => {
    const { s, file, reserved, dir } = fresh();
    s.ensure(s.load());
    s.ensure(123);
    expect(reserved()).toBe(BLOCK);
    s.close(123);
    expect(reserved()).toBe(123);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"reserved":123}');
    expect(fs.existsSync(file + '.tmp')).toBe(false);
    const again = new SeqState(dir);
    expect(again.load()).toBe(123);
    // replaced whole (a new file renamed over it), never rewritten in place: a crash leaves the old or the new
    const ino = fs.statSync(file).ino;
    s.close(124);
    expect(fs.statSync(file).ino).not.toBe(ino);
    // close set the reservation in memory too: a seq within half a block of it reserves the next block
    s.ensure(125);
    expect(reserved()).toBe(125 + BLOCK);
  });
});
