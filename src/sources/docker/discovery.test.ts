/**
 * Discovery's reconnect schedule and periodic reconcile, against a scripted
 * client (the real engine cannot be made to refuse on cue, nor to drop one
 * event): the schedule is asserted on fake timers, so the test takes no time.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ContainerDiscovery, type DiscoveryReason } from './discovery.js';
import { dockerSourceSchema } from './config.js';
import { newCounters } from './decode.js';
import type { ContainerInspect, ContainerSummary, DockerClient } from './client.js';

afterEach(() => {
  vi.useRealTimers();
});

function inspectOf(id: string): ContainerInspect {
  return { Id: id, Name: `/${id}`, Config: { Tty: false, Image: 'busybox', Labels: {} }, State: { Running: true, StartedAt: '2026-12-01T00:00:00Z', Status: 'running' } };
}

describe('ContainerDiscovery', () => {
  it('reconnects to an engine that refuses on a backoff of 1 s doubling to 30 s', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    const client = {
      negotiate: () => {
        attempts.push(Date.now());
        return Promise.reject(new Error('ECONNREFUSED'));
      },
    } as unknown as DockerClient;
    const counters = newCounters();
    const d = new ContainerDiscovery({
      client,
      cfg: dockerSourceSchema.parse({ name: 'd', type: 'docker', reconcile_interval: 0 }),
      counters,
      onContainer: () => undefined,
      onDestroy: () => undefined,
      onRename: () => undefined,
      onConnection: () => undefined,
    });
    d.start();
    await vi.advanceTimersByTimeAsync(200_000);
    await d.stop();
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(counters.event_reconnects).toBe(attempts.length - 1);
  });

  it('the periodic reconcile reports a container whose start event was missed', async () => {
    vi.useFakeTimers();
    let running: ContainerSummary[] = [{ Id: 'a', Names: ['/a'], Image: 'busybox', State: 'running', Labels: {} }];
    const events = new PassThrough(); // an events stream that stays open and says nothing
    const client = {
      negotiate: () => Promise.resolve('1.43'),
      events: () => Promise.resolve({ req: Object.assign(new EventEmitter(), { destroy: () => events.end() }) as unknown as ClientRequest, res: events as unknown as IncomingMessage }),
      listRunning: () => Promise.resolve(running),
      inspect: (id: string) => Promise.resolve(inspectOf(id)),
    } as unknown as DockerClient;
    const seen: [string, DiscoveryReason][] = [];
    const d = new ContainerDiscovery({
      client,
      cfg: dockerSourceSchema.parse({ name: 'd', type: 'docker', reconcile_interval: '30s' }),
      counters: newCounters(),
      onContainer: (meta, reason) => seen.push([meta.id, reason]),
      onDestroy: () => undefined,
      onRename: () => undefined,
      onConnection: () => undefined,
    });
    d.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(seen).toEqual([['a', 'list']]);
    // "b" starts while its event is lost: nothing until the next reconcile
    running = [...running, { Id: 'b', Names: ['/b'], Image: 'busybox', State: 'running', Labels: {} }];
    await vi.advanceTimersByTimeAsync(29_000);
    expect(seen.map(([id]) => id)).not.toContain('b');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(seen).toContainEqual(['b', 'reconcile']);
    await d.stop();
  });
});
