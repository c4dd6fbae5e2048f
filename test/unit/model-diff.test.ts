import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { diffEndpoints, EmptyDiff, isEmptyDiff } from '../../src/model/diff.ts';
import type { EndpointDiff } from '../../src/model/diff.ts';
import { mergeServiceEndpoints } from '../../src/model/endpoints.ts';
import type { ServiceEndpoints } from '../../src/model/endpoints.ts';
import type { EndpointSliceRecord, SliceEndpoint, SlicePort } from '../../src/kube/records.ts';
import { ep, port, slice as sliceOf } from './slice-builders.ts';

// Builders: test/unit/slice-builders.ts.

function slice(name: string, endpoints: SliceEndpoint[], ports?: SlicePort[]): EndpointSliceRecord {
  return sliceOf(name, { endpoints, ...(ports ? { ports } : {}) });
}

/** The merged view of one slice `web-a` holding `endpoints`. */
function view(...endpoints: SliceEndpoint[]): ServiceEndpoints {
  return mergeServiceEndpoints([slice('web-a', endpoints)]);
}

/** The diff by address: `+a`, `-a`, `~a`. */
function summary(d: EndpointDiff): string[] {
  return [
    ...d.added.map((e) => `+${e.address}`),
    ...d.removed.map((e) => `-${e.address}`),
    ...d.changed.map((c) => `~${c.after.address}`),
  ];
}

describe('diffEndpoints', () => {
  const cases: { name: string; before: ServiceEndpoints | null; after: ServiceEndpoints | null; want: string[] }[] = [
    { name: 'no-op: the same endpoints give an empty diff', before: view(ep('10.0.0.1')), after: view(ep('10.0.0.1')), want: [] },
    { name: 'no Service before or after: empty', before: null, after: null, want: [] },
    { name: 'Service appears: every endpoint added', before: null, after: view(ep('10.0.0.1'), ep('10.0.0.2')), want: ['+10.0.0.1', '+10.0.0.2'] },
    { name: 'Service deleted: every endpoint removed', before: view(ep('10.0.0.1'), ep('10.0.0.2')), after: null, want: ['-10.0.0.1', '-10.0.0.2'] },
    { name: 'placeholder to endpoints: added', before: view(), after: view(ep('10.0.0.1')), want: ['+10.0.0.1'] },
    { name: 'endpoints to placeholder: removed', before: view(ep('10.0.0.1')), after: view(), want: ['-10.0.0.1'] },
    {
      name: 'added, removed and changed at once, each sorted by address',
      before: view(ep('10.0.0.1'), ep('10.0.0.3'), ep('10.0.0.5'), ep('10.0.0.7')),
      after: view(ep('10.0.0.4'), ep('10.0.0.2'), ep('10.0.0.5', { zone: 'zone-b' }), ep('10.0.0.3', { nodeName: 'node-b' })),
      want: ['+10.0.0.2', '+10.0.0.4', '-10.0.0.1', '-10.0.0.7', '~10.0.0.3', '~10.0.0.5'],
    },
    {
      name: 'endpoint moving between slices: no change',
      before: mergeServiceEndpoints([slice('web-a', [ep('10.0.0.1'), ep('10.0.0.2')])]),
      after: mergeServiceEndpoints([slice('web-a', [ep('10.0.0.1')]), slice('web-b', [ep('10.0.0.2')])]),
      want: [],
    },
    {
      name: 'endpoint mid-move, in both slices, one copy terminating: no change',
      before: mergeServiceEndpoints([slice('web-a', [ep('10.0.0.1')])]),
      after: mergeServiceEndpoints([
        slice('web-a', [ep('10.0.0.1', { conditions: { ready: false, terminating: true } })]),
        slice('web-b', [ep('10.0.0.1')]),
      ]),
      want: [],
    },
    {
      name: 'a second address of the endpoint (addresses[1:]) is not a change',
      before: view(ep('10.0.0.1')),
      after: view(ep('10.0.0.1', { addresses: ['10.0.0.1', '10.0.0.9'] })),
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(summary(diffEndpoints(c.before, c.after)), c.want);
    });
  }

  // Every served field, changed alone, makes the endpoint "changed".
  const fieldCases: { field: string; after: EndpointSliceRecord }[] = [
    { field: 'ready', after: slice('web-a', [ep('10.0.0.1', { conditions: { ready: false } })]) },
    { field: 'serving', after: slice('web-a', [ep('10.0.0.1', { conditions: { serving: false } })]) },
    { field: 'terminating', after: slice('web-a', [ep('10.0.0.1', { conditions: { terminating: true } })]) },
    { field: 'nodeName', after: slice('web-a', [ep('10.0.0.1', { nodeName: 'node-b' })]) },
    { field: 'zone', after: slice('web-a', [ep('10.0.0.1', { zone: null })]) },
    { field: 'hostname', after: slice('web-a', [ep('10.0.0.1', { hostname: 'web-0' })]) },
    { field: 'hintsForZones', after: slice('web-a', [ep('10.0.0.1', { hintsForZones: ['zone-a'] })]) },
    { field: 'hintsForNodes', after: slice('web-a', [ep('10.0.0.1', { hintsForNodes: ['node-a'] })]) },
    {
      field: 'targetRef (pod recreated with the same name)',
      after: slice('web-a', [ep('10.0.0.1', { targetRef: { kind: 'Pod', namespace: 'default', name: 'pod-10.0.0.1', uid: 'other' } })]),
    },
    { field: 'targetRef removed', after: slice('web-a', [ep('10.0.0.1', { targetRef: null })]) },
    { field: 'port number', after: slice('web-a', [ep('10.0.0.1')], [port('http', 9090)]) },
    { field: 'port protocol', after: slice('web-a', [ep('10.0.0.1')], [port('http', 8080, 'UDP')]) },
    { field: 'port appProtocol', after: slice('web-a', [ep('10.0.0.1')], [port('http', 8080, 'TCP', 'http')]) },
    { field: 'a port added', after: slice('web-a', [ep('10.0.0.1')], [port('http', 8080), port('metrics', 9090)]) },
  ];
  for (const c of fieldCases) {
    it(`changed when ${c.field} differs`, () => {
      const before = view(ep('10.0.0.1'));
      const after = mergeServiceEndpoints([c.after]);
      const d = diffEndpoints(before, after);
      assert.deepEqual(summary(d), ['~10.0.0.1']);
      assert.equal(d.changed[0]!.before, before.endpoints[0]);
      assert.equal(d.changed[0]!.after, after.endpoints[0]);
    });
  }

  it('hints in another order are no change (hints are sorted at merge)', () => {
    const d = diffEndpoints(
      view(ep('10.0.0.1', { hintsForZones: ['zone-a', 'zone-b'] })),
      view(ep('10.0.0.1', { hintsForZones: ['zone-b', 'zone-a'] })),
    );
    assert.ok(isEmptyDiff(d));
  });

  it('returns frozen lists holding the merged endpoints themselves', () => {
    const before = view(ep('10.0.0.1'), ep('10.0.0.2'));
    const after = view(ep('10.0.0.2', { zone: 'zone-b' }), ep('10.0.0.3'));
    const d = diffEndpoints(before, after);
    for (const value of [d, d.added, d.removed, d.changed, d.changed[0]]) assert.ok(Object.isFrozen(value));
    assert.equal(d.removed[0], before.endpoints[0]);
    assert.equal(d.added[0], after.endpoints[1]);
  });
});

describe('isEmptyDiff', () => {
  const cases: { name: string; diff: EndpointDiff; want: boolean }[] = [
    { name: 'EmptyDiff is empty', diff: EmptyDiff, want: true },
    { name: 'a no-op diff is empty', diff: diffEndpoints(view(ep('10.0.0.1')), view(ep('10.0.0.1'))), want: true },
    { name: 'an addition is not empty', diff: diffEndpoints(null, view(ep('10.0.0.1'))), want: false },
    { name: 'a removal is not empty', diff: diffEndpoints(view(ep('10.0.0.1')), null), want: false },
    {
      name: 'a change is not empty',
      diff: diffEndpoints(view(ep('10.0.0.1')), view(ep('10.0.0.1', { conditions: { ready: false } }))),
      want: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(isEmptyDiff(c.diff), c.want);
    });
  }
});
