/**
 * Options: every invalid value is refused with one line naming the option (flag or environment
 * variable), the value and what is expected, including values that start with a dash, which
 * node:util's parseArgs would otherwise call "ambiguous" without saying what arrived.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, Options, envName, parseConfig, type Config } from '../../src/config.ts';

/** The options whose default is a number: every one of them is an integer option. */
const numeric = Object.entries(Options).filter(([, o]) => typeof o.default === 'string' && /^\d+$/.test(o.default)).map(([name]) => name);

const refusal = (args: string[], env: NodeJS.ProcessEnv = {}): string => {
  try {
    parseConfig(args, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${err}`);
    assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
    return err.message;
  }
  assert.fail(`${args.join(' ')} was accepted`);
};

describe('integer options', () => {
  it('there are integer options to check (the table below is not empty)', () => {
    assert.ok(numeric.length >= 19, `integer options: ${numeric.join(', ')}`);
  });

  for (const name of numeric) {
    it(`--${name}: -1, 1.5 and "many" are refused naming the option and the value; ${envName(name)} too`, () => {
      for (const bad of ['-1', '1.5', 'many']) {
        assert.match(refusal([`--${name}`, bad]), new RegExp(`^--${name}: expected an integer from \\d+ to \\d+, got "${bad.replace('.', '\\.')}"$`));
      }
      assert.match(refusal([], { [envName(name)]: '-1' }), new RegExp(`^${envName(name)}: expected an integer from \\d+ to \\d+, got "-1"$`));
    });
  }
});

describe('flags as parseArgs sees them', () => {
  const table: [string, string[], RegExp][] = [
    ['an unknown flag', ['--bogus'], /^--bogus: unknown option \(see --help\)$/],
    ['a flag without its value at the end', ['--max-depth'], /^--max-depth: expected a value, got nothing \(default: \d+\)$/],
    ['a flag followed by another option instead of its value', ['--port', '--demo'], /^--port: expected a value, got the option --demo \(default: 8080\)$/],
    ['a value given to a switch', ['--demo=yes'], /^--demo: a switch that takes no value \(--demo or --no-demo\), got "yes"$/],
    ['a positional argument', ['serve'], /^unexpected argument "serve": options take the form --name VALUE or --name=VALUE/],
    ['a namespace that starts with a dash', ['--namespaces', '-shop'], /^--namespaces: expected DNS-1123 labels separated by commas, got "-shop"$/],
  ];
  for (const [name, args, message] of table) {
    it(name, () => assert.match(refusal(args), message));
  }

  it('--flag=value, --flag value and a negated switch are all read', () => {
    const cfg = parseConfig(['--max-depth=7', '--port', '0', '--no-nodes'], {}) as Config;
    assert.equal(cfg.limits.maxDepth, 7);
    assert.equal(cfg.port, 0);
    assert.equal(cfg.watchNodes, false);
  });
});
