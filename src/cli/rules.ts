/**
 * `sluice rules test --pattern RE --line TEXT`: try a pattern without a
 * daemon. Prints `{"matched":bool,"captures":{...}}`; exit 2 (usage error)
 * with RE2's compile error on an invalid pattern.
 */
import { captures, compilePattern, RULE_ERR } from '../rules/compile.js';

export interface CommandResult {
  exitCode: number;
  output: string;
}

export function rulesTestCommand(pattern: string, line: string): CommandResult {
  const c = compilePattern(pattern);
  if (!c.ok) return { exitCode: 2, output: `${RULE_ERR.PATTERN_INVALID.code}: invalid pattern: ${c.error}` };
  const caps = captures(c.re, line);
  return { exitCode: 0, output: JSON.stringify({ matched: caps !== undefined, captures: caps ?? {} }) };
}
