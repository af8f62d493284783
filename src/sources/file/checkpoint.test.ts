import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore, parseCheckpoint, type CheckpointDoc } from './checkpoint.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('CheckpointStore', () => {
  it('round-trips through two alternating slots, the newest valid one wins', () => {
    const data = mkdtempSync(join(tmpdir(), 'sluice-cp-'));
    dirs.push(data);
    const s = new CheckpointStore(data, 'app');
    expect(s.path).toBe(join(data, 'checkpoints', 'file-app.json'));
    expect(s.load()).toEqual({ kind: 'none' });
    const doc: CheckpointDoc = {
      version: 1,
      files: [{ key: '1:2:10-0123456789abcdef', path: '/x.log', offset: 10 }],
      last: { key: '1:2:10-0123456789abcdef', path: '/x.log', from: 0, to: 10, seqFirst: 1, seqLast: 2 },
    };
    s.save(doc);
    s.save({ ...doc, files: [{ ...doc.files[0]!, offset: 20 }] });
    const r = s.load();
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect(r.doc.files[0]!.offset).toBe(20);
    expect(readdirSync(join(data, 'checkpoints')).sort()).toEqual(['file-app.json', 'file-app.json.b']);
    // a write torn by a crash (new bytes over the old tail) falls back to the other slot
    s.save({ ...doc, files: [{ ...doc.files[0]!, offset: 30 }] });
    writeFileSync(s.path, '{"version":1,"files":[{"key":"1:2:10-0123456789abcdef","path":"/x.log","offset":40}],"last":null,"gen":99}xx');
    const fresh = new CheckpointStore(data, 'app');
    const r2 = fresh.load();
    expect(r2.kind === 'ok' && r2.doc.files[0]!.offset).toBe(20);
    // and the next save goes to the slot that was torn, keeping the valid one
    fresh.save({ ...doc, files: [{ ...doc.files[0]!, offset: 50 }] });
    const r3 = new CheckpointStore(data, 'app').load();
    expect(r3.kind === 'ok' && r3.doc.files[0]!.offset).toBe(50);
  });

  it('reports a corrupt or invalid document instead of trusting it', () => {
    const data = mkdtempSync(join(tmpdir(), 'sluice-cp-'));
    dirs.push(data);
    const s = new CheckpointStore(data, 'app');
    s.save({ version: 1, files: [], last: null });
    writeFileSync(s.path, '{"version":1,"files":[{"key":"k"');
    expect(new CheckpointStore(data, 'app').load().kind).toBe('corrupt');
    expect(() => parseCheckpoint('{"version":2,"files":[],"last":null}')).toThrow(/version/);
    expect(() => parseCheckpoint('{"version":1,"files":[{"key":"a","path":"/x","offset":-1}],"last":null}')).toThrow(/files/);
    expect(() => parseCheckpoint('{"version":1,"files":[],"last":{"key":"a","path":"/x","from":5,"to":1,"seqFirst":1,"seqLast":1}}')).toThrow(/last/);
  });
});
