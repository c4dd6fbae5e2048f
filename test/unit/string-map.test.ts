/**
 * The store's index map (open addressing with backward-shift deletion): after any sequence of
 * sets and deletes it answers exactly as a JS Map given the same sequence would, through growth
 * and shrinking, with keys that collide in the low bits of their hash (addresses of one subnet).
 * Its hash is seeded per process, and a reservation is bounded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MaxReserve, StringMap } from '../../src/kube/string-map.ts';

describe('StringMap', () => {
  it('answers get, size, keys and delete as a Map does, through random churn that grows it to thousands of keys and shrinks it to none', () => {
    const m = new StringMap<number>();
    const ref = new Map<string, number>();
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) >>> 8) % n;
    const key = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    let peak = 0;
    for (let step = 0; step < 40_000; step++) {
      // Grow during the first half (3 sets to 1 delete), drain during the second.
      const k = key(rand(6000));
      if (rand(4) < (step < 20_000 ? 3 : 1)) {
        m.set(k, step);
        ref.set(k, step);
      } else assert.equal(m.delete(k), ref.delete(k), `delete ${k} at step ${step}`);
      peak = Math.max(peak, ref.size);
      if (step % 997 === 0) {
        assert.equal(m.size, ref.size);
        assert.deepEqual([...m.keys()].sort(), [...ref.keys()].sort(), `keys at step ${step}`);
      }
      const probe = key(rand(6000));
      assert.equal(m.get(probe), ref.get(probe), `get ${probe} at step ${step}`);
    }
    for (const k of [...ref.keys()]) {
      assert.equal(m.delete(k), true);
      ref.delete(k);
      assert.equal(m.get(k), undefined);
    }
    assert.ok(peak > 3000, `the map held more than 3,000 keys at its peak (${peak})`);
    assert.equal(m.size, 0);
    assert.deepEqual([...m.keys()], []);
  });

  it('every key stays reachable after deleting each of its neighbours in turn', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `pod-${i}`);
    for (let gone = 0; gone < keys.length; gone += 37) {
      const m = new StringMap<string>();
      for (const k of keys) m.set(k, k.toUpperCase());
      m.delete(keys[gone]!);
      for (const k of keys) assert.equal(m.get(k), k === keys[gone] ? undefined : k.toUpperCase(), k);
      assert.equal(m.size, keys.length - 1);
    }
  });

  it('keys is a snapshot: setting and deleting while walking it neither throws nor changes what the walk yields', () => {
    const m = new StringMap<number>();
    for (let i = 0; i < 20; i++) m.set(`ns-${i}`, i);
    const seen: string[] = [];
    for (const k of m.keys()) {
      seen.push(k);
      m.delete(k);
      m.set(`${k}-new`, 0);
    }
    assert.equal(seen.length, 20);
    assert.deepEqual(seen.sort(), Array.from({ length: 20 }, (_, i) => `ns-${i}`).sort());
  });

  it('reserve and fit change only the room it takes, not its answers', () => {
    const m = new StringMap<number>();
    m.set('a', 1);
    m.reserve(10_000);
    for (let i = 0; i < 100; i++) m.set(`k${i}`, i);
    m.fit();
    assert.equal(m.size, 101);
    assert.equal(m.get('a'), 1);
    for (let i = 0; i < 100; i++) assert.equal(m.get(`k${i}`), i);
    assert.equal(m.get('k100'), undefined);
    for (let i = 0; i < 100; i += 2) assert.equal(m.delete(`k${i}`), true);
    assert.deepEqual([...m.keys()].sort(), ['a', ...Array.from({ length: 50 }, (_, i) => `k${2 * i + 1}`)].sort());
  });

  it(`reserve asks for at most ${MaxReserve} entries' room, whatever the guess`, () => {
    const m = new StringMap<number>();
    m.reserve(1e9);
    assert.ok(m.capacity <= 2 * MaxReserve, `capacity ${m.capacity}`);
    m.reserve(100);
    assert.ok(m.capacity <= 2 * MaxReserve);
  });

  it('two processes place the same keys in different slots (the hash is seeded per process)', () => {
    const module = fileURLToPath(new URL('../../src/kube/string-map.ts', import.meta.url));
    const script = `import { StringMap } from ${JSON.stringify(module)}; const m = new StringMap(); for (let i = 0; i < 64; i++) m.set('pod-' + i, i); console.log(JSON.stringify([...m.keys()]));`;
    const orders = [1, 2, 3].map(() => {
      const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      return out.stdout.trim();
    });
    assert.equal(new Set(orders).size, 3, 'three processes, three slot orders');
  });
});
