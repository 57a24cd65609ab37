// The aci-fleet policy pack: `pulumi preview --policy-pack infra/policy` in any pipeline.
// The rules themselves are in rules.ts.
import { PolicyPack } from '@pulumi/policy';
import { policies } from './rules';

new PolicyPack('aci-fleet-security', { policies });
