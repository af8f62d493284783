/** `sluice rules test --pattern RE --line TEXT`: try a rule pattern (RE2) against one line, as the API's /api/rules/test does. */
import type { Command } from 'commander';
import { rulesTestCommand } from './rules.js';

export function registerRulesCommand(program: Command, setExit: (c: number) => void): void {
  const rules = program.command('rules').description('scan rules');
  rules
    .command('test')
    .description('print {"matched":bool,"captures":{...}} for a pattern and a line; exit 2 on an invalid pattern')
    .requiredOption('--pattern <re>', 'RE2 pattern (named captures: (?P<name>...))')
    .requiredOption('--line <text>', 'the log line to test')
    .action((o: { pattern: string; line: string }) => {
      const r = rulesTestCommand(o.pattern, o.line);
      (r.exitCode === 0 ? process.stdout : process.stderr).write(r.output + '\n');
      setExit(r.exitCode);
    });
}
