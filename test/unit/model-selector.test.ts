import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  Everything,
  matches,
  Nothing,
  parseSelector,
  SelectorError,
  selectorFromMap,
  selectorToString,
} from '../../src/model/selector.ts';
import type { Requirement, Selector } from '../../src/model/selector.ts';

/** `[key, operator, ...values]`, the shape a requirement is written in below. */
type Req = [key: string, operator: string, ...values: string[]];

function req([key, operator, ...values]: Req): Requirement {
  return { key, operator, values } as Requirement;
}

function selector(...reqs: Req[]): Selector {
  return { kind: 'Requirements', requirements: reqs.map(req) };
}

const labelChars = 'A-Z, a-z, 0-9, "-", "_" and "." beginning and ending with an alphanumeric';

describe('parseSelector: valid input', () => {
  // input, the requirements it parses to (sorted by key), its canonical string
  const cases: { input: string; want: Req[]; canonical: string }[] = [
    { input: '', want: [], canonical: '' },
    { input: '   ', want: [], canonical: '' },
    { input: 'app=web', want: [['app', '=', 'web']], canonical: 'app=web' },
    { input: 'app==web', want: [['app', '=', 'web']], canonical: 'app=web' },
    { input: 'app!=web', want: [['app', '!=', 'web']], canonical: 'app!=web' },
    { input: 'app', want: [['app', 'exists']], canonical: 'app' },
    { input: '!app', want: [['app', '!']], canonical: '!app' },
    { input: ' app = web , tier != db ', want: [['app', '=', 'web'], ['tier', '!=', 'db']], canonical: 'app=web,tier!=db' },
    { input: '\tapp\n=\rweb', want: [['app', '=', 'web']], canonical: 'app=web' },
    { input: 'tier in (a,b)', want: [['tier', 'in', 'a', 'b']], canonical: 'tier in (a,b)' },
    { input: 'tier notin (b, a, b)', want: [['tier', 'notin', 'a', 'b']], canonical: 'tier notin (a,b)' },
    { input: 'tier in(a)', want: [['tier', 'in', 'a']], canonical: 'tier in (a)' },
    { input: 'tier in ()', want: [['tier', 'in', '']], canonical: 'tier in ()' },
    { input: 'tier in (,a)', want: [['tier', 'in', '', 'a']], canonical: 'tier in (,a)' },
    { input: 'tier in (a,,b)', want: [['tier', 'in', '', 'a', 'b']], canonical: 'tier in (,a,b)' },
    { input: 'tier in (a,)', want: [['tier', 'in', '', 'a']], canonical: 'tier in (,a)' },
    { input: 'app=', want: [['app', '=', '']], canonical: 'app=' },
    { input: 'app=,tier', want: [['app', '=', ''], ['tier', 'exists']], canonical: 'app=,tier' },
    { input: '!a,b', want: [['a', '!'], ['b', 'exists']], canonical: '!a,b' },
    { input: 'example.com/app=web', want: [['example.com/app', '=', 'web']], canonical: 'example.com/app=web' },
    { input: 'A_b.c-D=X.y_z-1', want: [['A_b.c-D', '=', 'X.y_z-1']], canonical: 'A_b.c-D=X.y_z-1' },
    { input: `${'k'.repeat(63)}=${'v'.repeat(63)}`, want: [['k'.repeat(63), '=', 'v'.repeat(63)]], canonical: `${'k'.repeat(63)}=${'v'.repeat(63)}` },
    { input: 'in=notin', want: [['in', '=', 'notin']], canonical: 'in=notin' },
    { input: 'in', want: [['in', 'exists']], canonical: 'in' },
    { input: 'a in (in, notin)', want: [['a', 'in', 'in', 'notin']], canonical: 'a in (in,notin)' },
    { input: 'notin notin (in)', want: [['notin', 'notin', 'in']], canonical: 'notin notin (in)' },
    { input: 'replicas>3', want: [['replicas', 'gt', '3']], canonical: 'replicas>3' },
    { input: 'replicas < 10', want: [['replicas', 'lt', '10']], canonical: 'replicas<10' },
    { input: 'b=1,a=2', want: [['a', '=', '2'], ['b', '=', '1']], canonical: 'a=2,b=1' },
    { input: 'app=web,app!=db', want: [['app', '!=', 'db'], ['app', '=', 'web']], canonical: 'app!=db,app=web' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.input)} parses to ${JSON.stringify(c.canonical)}`, () => {
      const got = parseSelector(c.input);
      assert.deepEqual(got, selector(...c.want));
      assert.equal(selectorToString(got), c.canonical);
      assert.deepEqual(parseSelector(selectorToString(got)), got, 'canonical string round-trips');
      assert.ok(Object.isFrozen(got));
    });
  }
});

describe('parseSelector: invalid input', () => {
  const cases: { input: string; want: string }[] = [
    { input: 'app in a', want: 'expected "(" after "in" at position 7, got "a"' },
    { input: 'app notin b', want: 'expected "(" after "notin" at position 10, got "b"' },
    { input: 'a in', want: 'expected "(" after "in" at position 4, got end of string' },
    { input: ',app', want: 'expected "!" or a label key at position 0, got ","' },
    { input: '=web', want: 'expected "!" or a label key at position 0, got "="' },
    { input: '(', want: 'expected "!" or a label key at position 0, got "("' },
    { input: 'app,', want: 'expected "!" or a label key after "," at position 4, got end of string' },
    { input: 'app=web,,tier', want: 'expected "!" or a label key after "," at position 8, got ","' },
    { input: 'app=web tier=db', want: 'expected "," or end of string at position 8, got "tier"' },
    { input: 'a=b=c', want: 'expected "," or end of string at position 3, got "="' },
    { input: 'a in (b))', want: 'expected "," or end of string at position 8, got ")"' },
    { input: '!app=web', want: 'expected "," or end of string at position 4, got "="' },
    { input: '!a in (b)', want: 'expected "," or end of string at position 3, got "in"' },
    {
      input: 'app web',
      want: 'expected "=", "==", "!=", "in", "notin", ">", "<", "," or end of string after "app" at position 4, got "web"',
    },
    { input: '!', want: 'expected a label key after "!" at position 1, got end of string' },
    { input: '!!app', want: 'expected a label key after "!" at position 1, got "!"' },
    { input: 'app in (a', want: 'expected "," or ")" at position 9, got end of string' },
    { input: 'app in (a b)', want: 'expected "," or ")" at position 10, got "b"' },
    { input: 'app in (=)', want: 'expected a value, "," or ")" at position 8, got "="' },
    { input: 'a in (b,=)', want: 'expected a value, "," or ")" at position 8, got "="' },
    { input: 'app==(', want: 'expected a value after "==" at position 5, got "("' },
    { input: 'app===web', want: 'expected a value after "==" at position 5, got "="' },
    { input: 'a!=!', want: 'expected a value after "!=" at position 3, got "!"' },
    { input: '-app=web', want: `expected a label key of ${labelChars} at position 0, got "-app"` },
    { input: 'app-=web', want: `expected a label key of ${labelChars} at position 0, got "app-"` },
    { input: 'a/b/c', want: 'expected a label key with at most one "/" at position 0, got "a/b/c"' },
    { input: '/app', want: 'expected a DNS subdomain prefix before "/" in a label key at position 0, got "/app"' },
    {
      input: 'Example.com/app',
      want:
        'expected a label key prefix that is a DNS subdomain (a-z, 0-9, "-" and "." beginning and ending with an alphanumeric) at position 0, got "Example.com/app"',
    },
    { input: 'example.com/', want: 'expected a label name after "/" at position 0, got "example.com/"' },
    {
      input: 'k'.repeat(64),
      want: `expected a label name of at most 63 characters at position 0, got "${'k'.repeat(40)}"… (64 characters)`,
    },
    { input: 'app=-web', want: `expected a label value of ${labelChars} at position 4, got "-web"` },
    { input: 'app=wéb', want: `expected a label value of ${labelChars} at position 4, got "wéb"` },
    {
      input: `app=${'v'.repeat(64)}`,
      want: `expected a label value of at most 63 characters at position 4, got "${'v'.repeat(40)}"… (64 characters)`,
    },
    { input: 'replicas>three', want: 'expected an integer after ">" at position 9, got "three"' },
    { input: 'replicas>', want: 'expected an integer after ">" at position 9, got end of string' },
    { input: 'a>-1', want: 'expected an integer after ">" at position 2, got "-1"' },
    { input: 'replicas<99999999999999999999', want: 'expected an integer after "<" at position 9, got "99999999999999999999"' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.input)}: ${c.want}`, () => {
      assert.throws(() => parseSelector(c.input), { name: 'SelectorError', message: `labelSelector: ${c.want}` });
    });
  }

  it('SelectorError carries expected, got and position', () => {
    try {
      parseSelector('app in a');
      assert.fail('parsed');
    } catch (e) {
      assert.ok(e instanceof SelectorError);
      assert.ok(e instanceof Error);
      assert.deepEqual([e.expected, e.got, e.position], ['"(" after "in"', '"a"', 7]);
    }
  });
});

describe('matches', () => {
  const cases: { selector: string; labels: Record<string, string>; want: boolean }[] = [
    { selector: '', labels: {}, want: true },
    { selector: 'app=web', labels: { app: 'web', tier: 'fe' }, want: true },
    { selector: 'app=web', labels: { app: 'db' }, want: false },
    { selector: 'app=web', labels: {}, want: false },
    { selector: 'app=', labels: { app: '' }, want: true },
    { selector: 'app=', labels: {}, want: false },
    { selector: 'app!=web', labels: {}, want: true },
    { selector: 'app!=web', labels: { app: 'web' }, want: false },
    { selector: 'app!=web', labels: { app: 'db' }, want: true },
    { selector: 'tier in (a,b)', labels: { tier: 'b' }, want: true },
    { selector: 'tier in (a,b)', labels: { tier: 'c' }, want: false },
    { selector: 'tier in (a,b)', labels: {}, want: false },
    { selector: 'tier in ()', labels: { tier: '' }, want: true },
    { selector: 'tier notin (a)', labels: {}, want: true },
    { selector: 'tier notin (a)', labels: { tier: 'a' }, want: false },
    { selector: 'app', labels: { app: '' }, want: true },
    { selector: '!app', labels: { app: '' }, want: false },
    { selector: '!app', labels: {}, want: true },
    { selector: 'a,b', labels: { a: '1' }, want: false },
    { selector: 'constructor', labels: {}, want: false },
    { selector: 'hasOwnProperty=x', labels: {}, want: false },
    { selector: 'toString!=x', labels: {}, want: true },
    { selector: 'n>3', labels: { n: '4' }, want: true },
    { selector: 'n>3', labels: { n: '3' }, want: false },
    { selector: 'n>3', labels: { n: 'x' }, want: false },
    { selector: 'n>3', labels: {}, want: false },
    { selector: 'n<3', labels: { n: '2' }, want: true },
    { selector: 'n<10', labels: { n: '9' }, want: true },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.selector)} ${c.want ? 'matches' : 'does not match'} ${JSON.stringify(c.labels)}`, () => {
      assert.equal(matches(parseSelector(c.selector), c.labels), c.want);
    });
  }

  it('Nothing matches no labels, not even none', () => {
    assert.equal(matches(Nothing, {}), false);
    assert.equal(matches(Nothing, { app: 'web' }), false);
  });

  it('Everything matches any labels', () => {
    assert.equal(matches(Everything, {}), true);
    assert.equal(matches(Everything, { app: 'web' }), true);
  });
});

describe('selectorFromMap', () => {
  const cases: { name: string; map: Record<string, string> | null; want: Selector; string: string }[] = [
    { name: 'null (selectorless Service): selects nothing', map: null, want: Nothing, string: '<none>' },
    { name: 'empty map: selects nothing, as the API server stores it as none', map: {}, want: Nothing, string: '<none>' },
    {
      name: 'equality requirements sorted by key',
      map: { tier: 'fe', app: 'web' },
      want: selector(['app', '=', 'web'], ['tier', '=', 'fe']),
      string: 'app=web,tier=fe',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = selectorFromMap(c.map);
      assert.deepEqual(got, c.want);
      assert.equal(selectorToString(got), c.string);
      assert.ok(Object.isFrozen(got));
    });
  }

  it('a Service selector matches pods with those labels and more', () => {
    const s = selectorFromMap({ app: 'web' });
    assert.equal(matches(s, { app: 'web', 'pod-template-hash': 'abc' }), true);
    assert.equal(matches(s, { app: 'api' }), false);
  });
});
