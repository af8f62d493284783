/**
 * The error registry at its edges (mutation testing): the code pattern, a code
 * defined twice, a SluiceError's fields, and reasonOf/oneLine as messages
 * read them.
 */
import { describe, expect, it } from 'vitest';
import { defineError, E, errorRegistry, oneLine, reasonOf, SluiceError } from './errors.js';

describe('defineError', () => {
  it('accepts SLUICE_ERR_<AREA>_<WHAT> and registers it frozen', () => {
    const def = defineError('SLUICE_ERR_TEST1_SOME_THING2', 418, 'a teapot');
    expect(def).toEqual({ code: 'SLUICE_ERR_TEST1_SOME_THING2', status: 418, message: 'a teapot' });
    expect(Object.isFrozen(def)).toBe(true);
    expect(errorRegistry().get('SLUICE_ERR_TEST1_SOME_THING2')).toBe(def);
    expect(errorRegistry().get(E.API_NOT_FOUND.code)).toBe(E.API_NOT_FOUND);
  });

  it('refuses a code off the pattern, anywhere in it', () => {
    for (const bad of [
      'SLUICE_ERR_ONLYAREA', // no WHAT
      'SLUICE_ERR__WHAT', // empty area
      'SLUICE_ERR_AREA_', // empty what
      'xSLUICE_ERR_AREA_WHAT', // something before
      'SLUICE_ERR_AREA_WHATx', // lower case after
      'SLUICE_ERR_AREA_WHAT\n', // a newline after
      'SLUICE_ERR_are_what',
      'SLUICE_ERR_AR-EA_WHAT',
      'ERR_AREA_WHAT',
    ]) {
      expect(() => defineError(bad, 500, 'm'), JSON.stringify(bad)).toThrow(`bad error code ${bad}`);
      expect(errorRegistry().has(bad)).toBe(false);
    }
  });

  it('a code defined again returns the first definition, unchanged', () => {
    const first = defineError('SLUICE_ERR_TEST2_TWICE', 400, 'first');
    const second = defineError('SLUICE_ERR_TEST2_TWICE', 500, 'second');
    expect(second).toBe(first);
    expect(errorRegistry().get('SLUICE_ERR_TEST2_TWICE')).toEqual({ code: 'SLUICE_ERR_TEST2_TWICE', status: 400, message: 'first' });
  });
});

describe('SluiceError', () => {
  it('carries the definition code and status, its default message or the one given, and details', () => {
    const d = new SluiceError(E.API_TOO_MANY);
    expect(d).toBeInstanceOf(Error);
    expect(d.name).toBe('SluiceError');
    expect(d.message).toBe('too many requests');
    expect(d.code).toBe('SLUICE_ERR_API_TOO_MANY');
    expect(d.status).toBe(429);
    expect(d.details).toBeUndefined();
    const m = new SluiceError(E.STREAM_UNKNOWN, 'no stream "x"', { stream: 'x' });
    expect(m.message).toBe('no stream "x"');
    expect(m.status).toBe(404);
    expect(m.details).toEqual({ stream: 'x' });
    expect(new SluiceError(E.INTERNAL, '').message).toBe(''); // an empty message is a message
  });
});

describe('reasonOf', () => {
  const errno = (code: string, message = `${code}: something`) => Object.assign(new Error(message), { code });

  it('an OS error it knows: its words and its code', () => {
    expect(reasonOf(errno('EADDRINUSE'))).toBe('address in use (EADDRINUSE)');
    expect(reasonOf(errno('ENOENT'))).toBe('no such file or directory (ENOENT)');
    expect(reasonOf(errno('ERR_SOCKET_BAD_PORT'))).toBe('port out of range (0-65535) (ERR_SOCKET_BAD_PORT)');
    expect(reasonOf({ code: 'EACCES' })).toBe('permission denied (EACCES)'); // not an Error, still an errno
  });

  it('anything else: the message folded to one line, or the value as text', () => {
    expect(reasonOf(errno('EWHATEVER', 'odd\nfailure'))).toBe('odd; failure');
    expect(reasonOf(Object.assign(new Error('a code that only looks like one'), { code: { toString: () => 'ENOENT' } }))).toBe('a code that only looks like one');
    expect(reasonOf(Object.assign(new Error('numeric'), { code: 2 }))).toBe('numeric');
    expect(reasonOf(new Error('  plain  '))).toBe('plain');
    expect(reasonOf('a string\r\nthrown')).toBe('a string; thrown');
    expect(reasonOf(undefined)).toBe('undefined');
    expect(reasonOf(null)).toBe('null');
    expect(reasonOf(42)).toBe('42');
    expect(reasonOf({ message: 'not an Error' })).toBe('[object Object]');
  });
});

describe('oneLine', () => {
  it('folds each run of line breaks, with the blanks around it, into "; " and trims the ends', () => {
    expect(oneLine('a\nb')).toBe('a; b');
    expect(oneLine('a  \r\n\n  b\rc')).toBe('a; b; c');
    expect(oneLine('a \t b')).toBe('a \t b'); // blanks alone stay
    expect(oneLine('\n  lead and trail  \n')).toBe('; lead and trail;');
    expect(oneLine('')).toBe('');
  });
});
