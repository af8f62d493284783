/**
 * Renders the configuration reference (docs/configuration.md's generated
 * part) from the zod schema, so the docs cannot drift from what `sluice
 * check` accepts: a test compares the file with this output.
 * Regenerate: `node --import tsx src/config/reference.ts > /tmp/ref.md` and
 * paste between the markers, or run the test with UPDATE_DOCS=1.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

type JS = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JS>;
  items?: JS;
  anyOf?: JS[];
  oneOf?: JS[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: JS | boolean;
  required?: string[];
};

function typeOf(s: JS): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.oneOf) return 'table'; // a tagged union (transforms): each variant has a section of its own
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.properties) return 'table';
  if (s.type === 'object') return 'table of strings';
  if (Array.isArray(s.type)) return s.type.includes('string') && s.type.includes('number') ? 'string or number' : s.type.join(' \\| ');
  return s.type ?? 'any';
}

function rows(inp: JS, out: JS | undefined, prefix: string, acc: string[]): void {
  for (const [k, v] of Object.entries(inp.properties ?? {})) {
    const o = out?.properties?.[k];
    const key = prefix + k;
    const def = v.default !== undefined ? v.default : o?.default;
    const defText = def === undefined ? (inp.required?.includes(k) ? 'required' : '') : '`' + JSON.stringify(def) + '`';
    const desc = (v.description ?? o?.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const inner = v.anyOf?.find((x) => x.properties) ?? v;
    const innerOut = o?.anyOf?.find((x) => x.properties) ?? o;
    if (inner.type === 'object' && inner.properties) {
      // a table that may also be written another way (`multiline = "java"`): name those forms too
      const forms = [...(v.anyOf ?? []).filter((x) => x !== inner).map(typeOf), 'table'].join(' \\| ');
      acc.push(`| \`${key}\` | ${forms} | ${defText} | ${desc} |`);
      rows(inner, innerOut, key + '.', acc);
    } else if (v.type === 'array' && v.items?.properties) {
      acc.push(`| \`${key}\` | array of tables | ${defText} | ${desc} |`);
      rows(v.items, o?.items, key + '[].', acc);
    } else acc.push(`| \`${key}\` | ${typeOf(v)} | ${defText} | ${desc} |`);
  }
}

export function renderReference(): string {
  const inp = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JS;
  const out = z.toJSONSchema(configSchema, { io: 'output', unrepresentable: 'any' }) as JS;
  const lines: string[] = [];
  const top: string[] = [];
  const header = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const [k, v] of Object.entries(inp.properties ?? {})) {
    const o = out.properties?.[k];
    if (k === 'sources') continue;
    if (v.type === 'array' && v.items?.properties) {
      lines.push(`### \`[[${k}]]\``, '', v.description ?? '', '', ...header);
      const acc: string[] = [];
      rows(v.items, o?.items, '', acc);
      lines.push(...acc, '');
    } else if (v.properties || v.anyOf?.some((x) => x.properties)) {
      const inner = v.properties ? v : v.anyOf!.find((x) => x.properties)!;
      lines.push(`### \`[${k}]\``, '', inner.description ?? v.description ?? '', '', ...header);
      const acc: string[] = [];
      const innerOut = o?.properties ? o : o?.anyOf?.find((x) => x.properties);
      rows(inner, innerOut, '', acc);
      lines.push(...acc, '');
    } else {
      const def = v.default ?? o?.default;
      top.push(`| \`${k}\` | ${typeOf(v)} | ${def === undefined ? '' : '`' + JSON.stringify(def) + '`'} | ${v.description ?? ''} |`);
    }
  }
  const sources = inp.properties?.sources;
  const srcOut = out.properties?.sources;
  const variants = sources?.items?.oneOf ?? sources?.items?.anyOf ?? [];
  const outVariants = srcOut?.items?.oneOf ?? srcOut?.items?.anyOf ?? [];
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    const t = v.properties?.type?.const ?? v.properties?.type?.enum?.[0];
    lines.push(`### \`[[sources]]\` with \`type = "${String(t)}"\``, '', v.description ?? '', '', ...header);
    const acc: string[] = [];
    rows(v, outVariants[i], '', acc);
    lines.push(...acc, '');
  }
  // every source type has the same `transforms` list: its variants once
  const tIn = variants[0]?.properties?.transforms?.items;
  const tOut = outVariants[0]?.properties?.transforms?.items;
  const tVariants = tIn?.oneOf ?? tIn?.anyOf ?? [];
  const tOutVariants = tOut?.oneOf ?? tOut?.anyOf ?? [];
  for (let i = 0; i < tVariants.length; i++) {
    const v = tVariants[i]!;
    const t = v.properties?.type?.const ?? v.properties?.type?.enum?.[0];
    lines.push(`### \`[[sources.transforms]]\` with \`type = "${String(t)}"\``, '', v.description ?? '', '', ...header);
    const acc: string[] = [];
    rows(v, tOutVariants[i], '', acc);
    lines.push(...acc, '');
  }
  return ['### Top level', '', ...header, ...top, '', ...lines].join('\n').trim() + '\n';
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) process.stdout.write(renderReference());
