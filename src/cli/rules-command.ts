/** `sluice rules test --pattern RE --line TEXT`: try a rule pattern (RE2) against one line. */
import type { Command } from 'commander';
import RE2 from 're2';

export function rulesTest(pattern: string, line: string): { exitCode: number; output: string } {
  let re: RE2;
  try {
    re = new RE2(pattern);
  } catch (err) {
    return { exitCode: 2, output: `SLUICE_ERR_RULE_PATTERN: invalid RE2 pattern: ${(err as Error).message}` };
  }
  const m = re.exec(line);
  const captures: Record<string, string | null> = {};
  if (m?.groups) for (const [k, v] of Object.entries(m.groups)) captures[k] = v ?? null;
  return { exitCode: 0, output: JSON.stringify({ matched: m !== null, captures }) };
}

export function registerRulesCommand(program: Command, setExit: (c: number) => void): void {
  const rules = program.command('rules').description('scan rules');
  rules
    .command('test')
    .description('print {"matched":bool,"captures":{...}} for a pattern and a line; exit 2 on an invalid pattern')
    .requiredOption('--pattern <re>', 'RE2 pattern (named captures: (?P<name>...))')
    .requiredOption('--line <text>', 'the log line to test')
    .action((o: { pattern: string; line: string }) => {
      const r = rulesTest(o.pattern, o.line);
      (r.exitCode === 0 ? process.stdout : process.stderr).write(r.output + '\n');
      setExit(r.exitCode);
    });
}
