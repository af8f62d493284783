/** Error codes of the store (rules / triggers persistence). */
import { defineError } from '../core/errors.js';

export const STORE_ERR = {
  RULE_NOT_FOUND: defineError('SLUICE_ERR_RULE_NOT_FOUND', 404, 'no such rule'),
  RULE_SCOPE: defineError('SLUICE_ERR_RULE_SCOPE', 400, 'invalid rule scope'),
  RULE_CONFLICT: defineError('SLUICE_ERR_RULE_CONFLICT', 409, 'rule conflicts with an existing rule'),
  TRIGGER_NOT_FOUND: defineError('SLUICE_ERR_TRIGGER_NOT_FOUND', 404, 'no such trigger'),
  CURSOR_INVALID: defineError('SLUICE_ERR_STORE_CURSOR', 400, 'invalid pagination cursor'),
  OPEN_FAILED: defineError('SLUICE_ERR_STORE_OPEN', 500, 'cannot open the store'),
} as const;
