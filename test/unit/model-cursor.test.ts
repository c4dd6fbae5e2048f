import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { CursorError, decodeCursor, encodeCursor, MaxCursorLength } from '../../src/model/cursor.ts';

/** A cursor built by hand from any JSON payload, as a client might forge one. */
function forged(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** How an error message shows what arrived: quoted, cut at 40 characters. */
function shown(s: string): string {
  return s.length <= 40 ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, 40))}… (${s.length} characters)`;
}

const opaque = 'an opaque cursor from pageInfo or an edge';

describe('encodeCursor / decodeCursor', () => {
  const cases: { kind: string; sortKey: string }[] = [
    { kind: 'Service', sortKey: 'default/web' },
    { kind: 'Pod', sortKey: '' },
    { kind: 'Endpoint', sortKey: 'fd00::1' },
    { kind: 'Node', sortKey: 'nœud-ü/🚀 "quoted" \\ back' },
    { kind: 'Service', sortKey: `${'n'.repeat(253)}/${'s'.repeat(63)}` },
  ];
  for (const c of cases) {
    it(`round-trips ${c.kind} ${JSON.stringify(c.sortKey.slice(0, 30))}`, () => {
      const cursor = encodeCursor(c.kind, c.sortKey);
      assert.match(cursor, /^[A-Za-z0-9_-]+$/, 'base64url, no padding');
      assert.ok(cursor.length <= MaxCursorLength);
      assert.equal(decodeCursor(c.kind, cursor), c.sortKey);
    });
  }

  it('is deterministic: one position, one cursor', () => {
    assert.equal(encodeCursor('Service', 'default/web'), encodeCursor('Service', 'default/web'));
  });

  it('refuses to encode a cursor longer than the cap', () => {
    assert.throws(() => encodeCursor('Service', 'x'.repeat(MaxCursorLength)), RangeError);
  });
});

describe('decodeCursor: refused', () => {
  const good = encodeCursor('Service', 'default/web');
  const edited = forged({ ...JSON.parse(Buffer.from(good, 'base64url').toString('utf8')), s: 'kube-system/dns' });
  const cases: { name: string; cursor: string; want: string }[] = [
    { name: 'empty string', cursor: '', want: `expected ${opaque}, got ""` },
    { name: 'garbage characters', cursor: 'not a cursor!', want: `expected ${opaque}, got "not a cursor!"` },
    { name: 'standard base64 with padding', cursor: 'eyJ2IjoxfQ==', want: `expected ${opaque}, got "eyJ2IjoxfQ=="` },
    { name: 'base64url that is not JSON', cursor: 'aGVsbG8', want: `expected ${opaque}, got "aGVsbG8"` },
    { name: 'non-canonical base64url (stray bits)', cursor: 'aGVsbG9', want: `expected ${opaque}, got "aGVsbG9"` },
    { name: 'invalid UTF-8', cursor: Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url'), want: `expected ${opaque}, got "__79"` },
    { name: 'JSON array', cursor: forged([1, 'S', 'a']), want: `expected ${opaque}, got ${shown(forged([1, 'S', 'a']))}` },
    {
      name: 'JSON without the check',
      cursor: forged({ v: 1, k: 'Service', s: 'default/web' }),
      want: `expected ${opaque}, got ${shown(forged({ v: 1, k: 'Service', s: 'default/web' }))}`,
    },
    { name: 'another version', cursor: forged({ v: 2, k: 'Service', s: 'default/web', c: '00000000' }), want: 'expected a cursor of version 1, got version 2' },
    { name: 'tampered: sort key edited, check kept', cursor: edited, want: `expected ${opaque}, unmodified, got ${shown(edited)}` },
    { name: 'wrong kind: a Pod cursor for Services', cursor: encodeCursor('Pod', 'default/web-0'), want: 'expected a cursor for "Service", got one for "Pod"' },
    { name: 'too long', cursor: 'A'.repeat(MaxCursorLength + 1), want: `expected a cursor of at most ${MaxCursorLength} characters, got ${MaxCursorLength + 1} characters` },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.want}`, () => {
      assert.throws(() => decodeCursor('Service', c.cursor), { name: 'CursorError', message: `cursor: ${c.want}` });
    });
  }

  it('tampered: any one character changed is refused', () => {
    for (let i = 0; i < good.length; i++) {
      const replacement = good[i] === 'A' ? 'B' : 'A';
      const tampered = good.slice(0, i) + replacement + good.slice(i + 1);
      assert.throws(() => decodeCursor('Service', tampered), CursorError, `character ${i}`);
    }
  });

  it('tampered: truncated or extended is refused', () => {
    for (const tampered of [good.slice(0, -1), good.slice(0, -4), good.slice(1), `${good}A`, `${good}AAAA`]) {
      assert.throws(() => decodeCursor('Service', tampered), CursorError, tampered);
    }
  });

  it('CursorError carries expected and got', () => {
    try {
      decodeCursor('Service', encodeCursor('Pod', 'x'));
      assert.fail('decoded');
    } catch (e) {
      assert.ok(e instanceof CursorError);
      assert.deepEqual([e.expected, e.got], ['a cursor for "Service"', 'one for "Pod"']);
    }
  });
});
