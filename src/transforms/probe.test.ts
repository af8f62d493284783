/**
 * A probe may only say "no" when RE2 would: the literal taken from a
 * pattern is one every match contains, and RE2 on the text's bytes agrees
 * with RE2 on the string. Checked on chosen cases and on random patterns
 * built from literals, classes, quantifiers, groups and alternations
 * against random texts.
 */
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { Probe, requiredLiteral, Text } from './probe.js';

describe('requiredLiteral', () => {
  it('takes the plain run a pattern starts with', () => {
    expect(requiredLiteral('password=\\S+')).toBe('password=');
    expect(requiredLiteral('^token=[^ ]+')).toBe('token=');
    expect(requiredLiteral('api\\.key: \\w+')).toBe('api.key: ');
    expect(requiredLiteral('errors+')).toBe('errors');
  });

  it('leaves out a character a quantifier makes optional, and gives up where it cannot be sure', () => {
    expect(requiredLiteral('colou?r')).toBe('colo');
    expect(requiredLiteral('abcd*')).toBe('abc');
    expect(requiredLiteral('abcd{0,2}')).toBe('abc');
    // alternation, inline flags (case folding), a group or a class first, too short
    expect(requiredLiteral('password=\\S+|token=\\S+')).toBeUndefined();
    expect(requiredLiteral('(?i)password=')).toBeUndefined();
    expect(requiredLiteral('(?P<v>\\d+\\.\\d+)')).toBeUndefined();
    expect(requiredLiteral('[a-z]+=x')).toBeUndefined();
    expect(requiredLiteral('ab\\d')).toBeUndefined();
    expect(requiredLiteral('\\Qa.b\\E')).toBeUndefined();
  });
});

describe('Probe', () => {
  it('says no without RE2 when the literal is missing, and never says no to a match', () => {
    const p = new Probe('password=\\S+');
    expect(p.mayMatch(new Text('user logged in'))).toBe(false);
    expect(p.mayMatch(new Text('login password=hunter2'))).toBe(true);
    const ip = new Probe('(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)');
    expect(ip.mayMatch(new Text('from 10.0.0.1 ✓'))).toBe(true);
    expect(ip.mayMatch(new Text('no address here ✓'))).toBe(false);
  });

  it('property: whenever RE2 matches the string, the probe says it may', () => {
    const atom = fc.constantFrom('a', 'b', 'ab', 'abc', 'key=', 'é', '=', ':', '\\.', '\\d', '\\w', '\\S', '\\s', '.', '[ab]', '[^a]', 'ÿ', ' ', '-');
    const quant = fc.constantFrom('', '', '', '?', '*', '+', '{0,2}', '{2}');
    const piece = fc.tuple(atom, quant).map(([a, q]) => a + q);
    const seq = fc.array(piece, { minLength: 1, maxLength: 6 }).map((ps) => ps.join(''));
    const pattern = fc.oneof(
      seq,
      seq.map((s) => '^' + s),
      fc.tuple(seq, seq).map(([x, y]) => `${x}|${y}`),
      fc.tuple(seq, seq).map(([x, y]) => `(?:${x})+${y}`),
      seq.map((s) => '(?i)' + s),
    );
    const text = fc.array(fc.constantFrom('a', 'b', 'ab', 'abc', 'key=', 'ke', 'A', 'é', 'É', '=', ':', '.', '1', ' ', '-', 'ÿ', '\n', '\u{1F600}'), { maxLength: 12 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(pattern, text, (p, t) => {
        const re = new RE2(p, 'u');
        if (re.test(t)) expect(new Probe(p).mayMatch(new Text(t))).toBe(true);
        // and the bytes RE2 is probed on give RE2's answer on the string
        expect(re.test(Buffer.from(t, 'utf8'))).toBe(re.test(t));
      }),
      { numRuns: 3000 },
    );
  });
});
