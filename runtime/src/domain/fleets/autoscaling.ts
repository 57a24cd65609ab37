// A fleet's own autoscaler settings on top of the deployment's (AUTOSCALER_*): what the policy
// (../autoscaling/policy.ts) decides a fleet's size with, and how GET shows it. Pure.
import type { ScalingConfig } from '../autoscaling/policy';
import type { ContainerGroupTemplate } from '../servers/requests';
import type { FleetAutoscalerSpec } from './requests';

/** The policy's settings for a fleet: its own fields, the deployment's for the rest. */
export function scalingConfigFor(
  defaults: ScalingConfig,
  own: FleetAutoscalerSpec,
  template: ContainerGroupTemplate,
  defaultMaxSessions: number,
): ScalingConfig {
  const seconds = (v: number | undefined, fallbackMs: number) => (v === undefined ? fallbackMs : v * 1000);
  return {
    ...defaults,
    policy: own.policy ?? defaults.policy,
    minInstances: own.minimumInstances ?? defaults.minInstances,
    maxInstances: own.maximumInstances ?? defaults.maxInstances,
    scaleOutThreshold: own.scaleOutThreshold ?? defaults.scaleOutThreshold,
    scaleInThreshold: own.scaleInThreshold ?? defaults.scaleInThreshold,
    scaleOutCooldownMs: seconds(own.scaleOutCooldownSeconds, defaults.scaleOutCooldownMs),
    scaleInCooldownMs: seconds(own.scaleInCooldownSeconds, defaults.scaleInCooldownMs),
    bufferSlots: own.bufferSlots ?? defaults.bufferSlots,
    bufferPercent: own.bufferPercent ?? defaults.bufferPercent,
    createQuota: own.createQuota ?? defaults.createQuota,
    createQuotaWindowMs: seconds(own.createQuotaWindowSeconds, defaults.createQuotaWindowMs),
    demandWindowMs: seconds(own.demandWindowSeconds, defaults.demandWindowMs),
    newServerMaxSessions: template.maxSessions ?? defaultMaxSessions,
    serviceLevel: own.serviceLevel ?? defaults.serviceLevel,
    provisioningMs: seconds(own.provisioningSeconds, defaults.provisioningMs),
  };
}

/** The settings a fleet runs with, in its own field names (the `seed` policy shows as what it is). */
export function autoscalerFieldsOf(c: ScalingConfig): Record<string, unknown> {
  return {
    policy: c.policy,
    serviceLevel: c.serviceLevel,
    provisioningSeconds: c.provisioningMs / 1000,
    minimumInstances: c.minInstances,
    maximumInstances: c.maxInstances,
    scaleOutThreshold: c.scaleOutThreshold,
    scaleInThreshold: c.scaleInThreshold,
    scaleOutCooldownSeconds: c.scaleOutCooldownMs / 1000,
    scaleInCooldownSeconds: c.scaleInCooldownMs / 1000,
    bufferSlots: c.bufferSlots,
    bufferPercent: c.bufferPercent,
    createQuota: c.createQuota,
    createQuotaWindowSeconds: c.createQuotaWindowMs / 1000,
    demandWindowSeconds: c.demandWindowMs / 1000,
  };
}

/** Rules across the merged settings; [field, message] of the first one broken. */
export function scalingConfigProblem(c: ScalingConfig): [field: string, message: string] | undefined {
  if (c.minInstances > c.maxInstances) {
    return ['minimumInstances', `must not exceed maximumInstances (${c.minInstances} > ${c.maxInstances}, AUTOSCALER_* filling in)`];
  }
  if (c.scaleInThreshold >= c.scaleOutThreshold) {
    return ['scaleInThreshold', `must be below scaleOutThreshold (${c.scaleInThreshold} >= ${c.scaleOutThreshold}), or the fleet flaps`];
  }
  return undefined;
}
