/** Request bodies of the trigger API. */
import { z } from 'zod';
import { MAX_PATTERN_LENGTH } from '../rules/compile.js';
import { SEVERITIES } from '../store/types.js';
import { displayName } from '../core/text.js';

/** What reads show instead of a secret, and what a PATCH may echo to keep it. */
export const SECRET_PLACEHOLDER = '********';

const filterSchema = z.strictObject({
  severity: z.array(z.enum(SEVERITIES)).max(SEVERITIES.length).default([]),
  source: z.array(z.string().min(1).max(200)).max(1000).default([]),
  message_re: z.string().max(MAX_PATTERN_LENGTH).nullable().default(null),
});

export const triggerCreateSchema = z.strictObject({
  name: displayName(),
  url: z.string().min(1).max(2048),
  secret: z.string().max(1024).default('').describe('HMAC key for X-Sluice-Signature-256; empty = unsigned.'),
  filter: filterSchema.default({ severity: [], source: [], message_re: null }),
  enabled: z.boolean().default(true),
});

export const triggerPatchSchema = z.strictObject({
  name: displayName().optional(),
  url: z.string().min(1).max(2048).optional(),
  secret: z.string().max(1024).optional(),
  filter: z
    .strictObject({
      severity: z.array(z.enum(SEVERITIES)).max(SEVERITIES.length).optional(),
      source: z.array(z.string().min(1).max(200)).max(1000).optional(),
      message_re: z.string().max(MAX_PATTERN_LENGTH).nullable().optional(),
    })
    .optional(),
  enabled: z.boolean().optional(),
});
