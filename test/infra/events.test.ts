// Event Grid wiring decisions: which events, which subjects, which names.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import {
  CONTAINER_GROUP_EVENT_TYPES,
  ContainerEvents,
  SUBSCRIPTION_NAME,
  containerGroupSubjectPrefix,
  systemTopicNameFor,
} from '../../infra/events';
import { flush, useMocks } from './support/mocks';

describe('container group events', () => {
  it('listens to writes and deletes, successful or not, and to actions (az container stop takes a server out of service)', () => {
    assert.deepEqual([...CONTAINER_GROUP_EVENT_TYPES].sort(), [
      'Microsoft.Resources.ResourceActionSuccess',
      'Microsoft.Resources.ResourceDeleteFailure',
      'Microsoft.Resources.ResourceDeleteSuccess',
      'Microsoft.Resources.ResourceWriteFailure',
      'Microsoft.Resources.ResourceWriteSuccess',
    ]);
  });

  it('filters subjects to the container groups of the resource group', () => {
    assert.equal(
      containerGroupSubjectPrefix('/subscriptions/s/resourceGroups/rg/'),
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups',
    );
  });

  it("names a group's topic within Event Grid's rule (letters, digits, hyphens), keeping Pulumi's name where it already fits", () => {
    assert.equal(systemTopicNameFor('events-games'), undefined, 'existing topics keep their names');
    const names = [
      'events-spiele-münchen',
      'events-spiele-munchen-x',
      'events-rg_1',
      'events-rg.1',
      'events-ゲーム',
      `events-${'ü'.repeat(90)}`,
    ].map((k) => systemTopicNameFor(k) ?? k);
    for (const n of names) assert.match(n, /^[A-Za-z0-9-]{3,128}$/, n);
    assert.equal(new Set(names).size, names.length, 'no two groups share a name');
    assert.equal(systemTopicNameFor('events-rg_1'), systemTopicNameFor('events-rg_1'), 'stable across runs');
  });

  it('names the subscription within Event Grid rules (3-64 letters, digits, hyphens)', () => {
    assert.match(SUBSCRIPTION_NAME, /^[A-Za-z0-9-]{3,64}$/);
  });
});

describe('ContainerEvents', () => {
  it('validates the retry policy before creating any topic', async () => {
    const seen = await useMocks();
    const deployment = new pulumi.ComponentResource('test:index:Deployment', 'deployment');
    const args = {
      containerResourceGroups: [{ name: 'rg', id: '/subscriptions/s/resourceGroups/rg' }],
      subscriptionId: 's',
      functionResourceId: '/subscriptions/s/resourceGroups/app/providers/Microsoft.Web/sites/a/functions/ACIMonitor',
      deadLetter: { storageAccountId: 'st', containerName: 'dl' },
      retry: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
      deployment,
    };
    assert.throws(
      () => new ContainerEvents('a', { ...args, retry: { maxDeliveryAttempts: 31, eventTimeToLiveInMinutes: 60 } }),
      /maxDeliveryAttempts/,
    );
    assert.throws(
      () => new ContainerEvents('b', { ...args, retry: { maxDeliveryAttempts: 3, eventTimeToLiveInMinutes: 0 } }),
      /eventTimeToLiveInMinutes/,
    );
    assert.throws(() => new ContainerEvents('c', { ...args, containerResourceGroups: [] }), /no container resource group/);
    await flush();
    assert.deepEqual(
      seen.types.filter((t) => t.startsWith('azure-native:')),
      [],
    );
  });
});
