/** Request bodies of the rule API (validated by the same zod schemas the CLI and docs use). */
import { z } from 'zod';
import { SEVERITIES, STD_SELECTORS } from '../store/types.js';
import { MAX_PATTERN_LENGTH } from './compile.js';
import { displayName } from '../core/text.js';

const name = displayName();
const sourceName = z.string().min(1).max(200).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');

export const ruleCreateSchema = z.strictObject({
  name: name.optional().describe('Required, except for an override (default: the global rule\'s name).'),
  pattern: z.string().min(1).max(MAX_PATTERN_LENGTH).optional().describe('RE2 pattern; optional only for an override (default: the global\'s).'),
  severity: z.enum(SEVERITIES).optional(),
  source: sourceName.nullable().default(null).describe('null = global; a source name = scoped to that source.'),
  overrides: z.number().int().positive().nullable().default(null).describe('For a per-source override: the id of the global rule it disables or replaces.'),
  std: z.enum(STD_SELECTORS).optional(),
  cooldown_s: z.number().int().min(0).max(7 * 86_400).optional(),
  enabled: z.boolean().default(true),
});

export const rulePatchSchema = z.strictObject({
  name: name.optional(),
  pattern: z.string().min(1).max(MAX_PATTERN_LENGTH).optional(),
  severity: z.enum(SEVERITIES).optional(),
  source: sourceName.nullable().optional(),
  overrides: z.number().int().positive().nullable().optional(),
  std: z.enum(STD_SELECTORS).optional(),
  cooldown_s: z.number().int().min(0).max(7 * 86_400).optional(),
  enabled: z.boolean().optional(),
});

export const ruleTestSchema = z.strictObject({
  pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
  sample_line: z.string().max(1024 * 1024),
});
