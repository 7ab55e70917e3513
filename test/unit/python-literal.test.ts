import { describe, expect, it } from 'vitest';
import { parsePythonLiteral } from '../../lib/messages/python-literal';
import { LEGACY_LB_BODY } from '../fixtures/events';

describe('parsePythonLiteral', () => {
  it('parses the replaced load balancer message with u-prefixed strings', () => {
    expect(parsePythonLiteral(LEGACY_LB_BODY)).toEqual({
      public_hostname: 'ec2-54-9-9-9.us-west-2.compute.amazonaws.com',
      public_port: '41000',
      region: 'us-west',
      status: 'init',
      type: 'lb',
      private_ipv4: '',
      endpoints: ['10.0.0.1:40001', '10.0.0.2:40002'],
    });
  });

  it.each([
    ['True', true],
    ['False', false],
    ['None', null],
    ['-12', -12],
    ['1.5e3', 1500],
    ["'it\\'s'", "it's"],
    ['"a\\x41\\u00e9"', 'aAé'],
    ["r'a\\n'", 'a\\n'],
    ['(1, 2,)', [1, 2]],
    ["{'a': [], 'b': {}}", { a: [], b: {} }],
    ['  { }  ', {}],
  ])('parses %s', (text, expected) => {
    expect(parsePythonLiteral(text)).toEqual(expected);
  });

  it.each([
    ['', 'unexpected end of input'],
    ["{'a' 1}", "expected ':'"],
    ["{'a': 1", "expected ',' or '}'"],
    ["'open", 'unterminated string'],
    ['__import__("os")', 'unexpected character'],
    ["{'a': 1} extra", 'unexpected trailing characters'],
    ['[' .repeat(40), 'nesting too deep'],
    ['{[1]: 2}', 'dict keys must be strings or numbers'],
  ])('rejects %j with "%s"', (text, message) => {
    expect(() => parsePythonLiteral(text)).toThrow(message);
  });

  it('does not let a __proto__ key change the prototype', () => {
    const parsed = parsePythonLiteral("{'__proto__': {'polluted': 'yes'}}") as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
