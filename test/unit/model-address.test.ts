import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addressOrderKey, canonicalIP, compareAddresses, ipv4Value, sortByAddress } from '../../src/model/address.ts';

describe('canonicalIP', () => {
  const cases: [string, string | null, 'IPv4' | 'IPv6' | null][] = [
    ['10.64.3.2', '10.64.3.2', 'IPv4'],
    ['::ffff:10.64.3.2', '10.64.3.2', 'IPv4'],
    ['::FFFF:10.64.3.2', '10.64.3.2', 'IPv4'],
    ['0:0:0:0:0:ffff:a40:302', '10.64.3.2', 'IPv4'],
    ['0000:0000:0000:0000:0000:ffff:0a40:0302', '10.64.3.2', 'IPv4'],
    ['FD00:0000:0000:0000:0000:0000:0000:0010', 'fd00::10', 'IPv6'],
    ['fd00:0::1', 'fd00::1', 'IPv6'],
    ['::1', '::1', 'IPv6'],
    ['::ffff:0:10.64.3.2', '::ffff:0:a40:302', 'IPv6'], // IPv4-translated (RFC 2765), not mapped
    ['64:ff9b::10.64.3.2', '64:ff9b::a40:302', 'IPv6'],
    ['10.64.3.256', null, null],
    ['010.64.3.2', null, null],
    ['10.0.0.0/8', null, null],
    ['fe80::1%eth0', null, null],
    ['web.example.com', null, null],
  ];
  for (const [input, address, family] of cases) {
    it(`${input} → ${address ?? 'not an IP'}`, () => assert.deepEqual(canonicalIP(input), address === null ? null : { address, family }));
  }
});

describe('numeric address order', () => {
  it('sorts IPv4 by value, then IPv6 by value, then anything else', () => {
    const input = ['web.example.com', 'fd00::10', '10.64.1.10', '::1', '10.64.1.2', '9.255.255.255', 'fd00::2', '10.64.1.2'];
    assert.deepEqual([...input].sort(compareAddresses), ['9.255.255.255', '10.64.1.2', '10.64.1.2', '10.64.1.10', '::1', 'fd00::2', 'fd00::10', 'web.example.com']);
  });
  it('order keys compare as their addresses do', () => {
    assert.ok(addressOrderKey('10.64.1.2') < addressOrderKey('10.64.1.10'));
    assert.ok(addressOrderKey('255.255.255.255') < addressOrderKey('::'));
    assert.equal(addressOrderKey('fd00::1'), addressOrderKey('FD00:0:0:0:0:0:0:1'));
  });
});

describe('ipv4Value', () => {
  const cases: [string, number][] = [
    ['0.0.0.0', 0],
    ['10.64.1.10', 0x0a40010a],
    ['255.255.255.255', 0xffffffff],
    ['010.64.1.1', -1],
    ['10.64.1.256', -1],
    ['10.64.1', -1],
    ['10.64.1.1.1', -1],
    ['10..1.1', -1],
    ['10.64.1.1 ', -1],
    ['fd00::1', -1],
    ['', -1],
  ];
  for (const [input, want] of cases) it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(ipv4Value(input), want));
});

describe('sortByAddress', () => {
  it('sorts items by their address in numeric order, as compareAddresses does', () => {
    const addresses = ['fd00::10', 'b.example', '10.0.0.10', 'fd00::2', '10.0.0.2', 'a.example', '9.1.1.1'];
    const items = addresses.map((address) => ({ address }));
    sortByAddress(items, (i) => i.address);
    assert.deepEqual(items.map((i) => i.address), [...addresses].sort(compareAddresses));
    assert.deepEqual(items.map((i) => i.address), ['9.1.1.1', '10.0.0.2', '10.0.0.10', 'fd00::2', 'fd00::10', 'a.example', 'b.example']);
  });
});

