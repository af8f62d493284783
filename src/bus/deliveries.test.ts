import { describe, expect, it } from 'vitest';
import { deliveryIdOf } from './deliveries.js';

describe('deliveryIdOf', () => {
  it('is the same for one trigger and event wherever it is made, different otherwise, and shaped as a UUID', () => {
    const id = deliveryIdOf(3, 1234);
    expect(deliveryIdOf(3, 1234)).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ids = new Set<string>();
    for (let t = 1; t <= 20; t++) for (let e = 1; e <= 500; e++) ids.add(deliveryIdOf(t, e));
    expect(ids.size).toBe(20 * 500);
    // (trigger 12, event 3) is not (trigger 1, event 23)
    expect(deliveryIdOf(12, 3)).not.toBe(deliveryIdOf(1, 23));
  });
});
