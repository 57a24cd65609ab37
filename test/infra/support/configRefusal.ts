// What the stack tests expect of a stack file the configuration must refuse.
import * as assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../../infra/config';

/** The ConfigError parseConfig refuses `raw` with; fails the test if it takes it. */
export function configRefusal(raw: Record<string, string>, context: Parameters<typeof parseConfig>[1]): ConfigError {
  try {
    parseConfig(raw, context);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  return assert.fail('expected the configuration to be refused');
}
