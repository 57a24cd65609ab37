// The alert rules and the workbook read the runtime's telemetry: every metric, event, lifecycle
// step, state and error code their queries name is one the runtime actually emits, and
// docs/deploy.md says what each alert means and what to do.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOG_ALERTS, actionGroupShortName } from '../../infra/alerts';
import { WORKBOOK_PANELS, workbookContent } from '../../infra/workbook';
import { SCALED_EVENT } from '../../runtime/src/domain/fleets/controller';
import { LIFECYCLE_EVENT, lifecycleEvent } from '../../runtime/src/domain/servers/lifecycle';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { STATES } from '../../runtime/src/domain/servers/states';
import { fleetSnapshot } from '../../runtime/src/telemetry';

const root = path.resolve(__dirname, '../..');
const runtimeSource = (dir = path.join(root, 'runtime/src')): string =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .map((e) =>
      e.isDirectory()
        ? runtimeSource(path.join(dir, e.name))
        : e.name.endsWith('.ts')
          ? fs.readFileSync(path.join(dir, e.name), 'utf8')
          : '',
    )
    .join('\n');

const queries = [...LOG_ALERTS.map((a) => a.query), ...WORKBOOK_PANELS.map((p) => p.query)];
/** Every quoted word a query compares `t.<field>` with. */
const compared = (field: string) =>
  new Set(
    queries.flatMap((q) =>
      [...q.matchAll(new RegExp(`t\\.${field}\\)? (?:==|in) \\(?((?:"[^"]+"(?:, )?)+)`, 'g'))].flatMap((m) =>
        [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]),
      ),
    ),
  );

describe('what the queries read', () => {
  const source = runtimeSource();
  const emitted = new Set([
    ...[...source.matchAll(/track(?:Event|Metric)\('(\w+)'/g)].map((m) => m[1]),
    ...fleetSnapshot([]).map((m) => m.name),
    'ActiveSessions',
    'MaxSessions',
    LIFECYCLE_EVENT,
    SCALED_EVENT,
  ]);

  it('names only metrics and events the runtime sends', () => {
    const names = compared('name');
    assert.ok(
      names.has('Servers') && names.has('HttpError') && names.has(LIFECYCLE_EVENT) && names.has(SCALED_EVENT),
      [...names].join(', '),
    );
    for (const name of names) assert.ok(emitted.has(name), `${name} is not sent by the runtime`);
  });

  it('names only server states and error codes that exist', () => {
    for (const state of compared('state')) assert.ok((STATES as readonly string[]).includes(state), state);
    const codes = compared('code');
    assert.ok(codes.has('NoCapacity'));
    for (const code of codes) assert.match(source, new RegExp(`'${code}'`), code);
  });

  it('counts the lifecycle step the runtime sends when a server turns Failed', () => {
    const server = { resourceGroup: 'games', containerGroupName: 'gs-1', state: 'Running' } as ServerRecord;
    const step = lifecycleEvent(server, { ...server, state: 'Failed', failureReason: 'image pull failed' } as ServerRecord);
    assert.deepEqual([...compared('event')], [step?.event]);
  });

  it("reads the autoscaler's scale events by the fields it sends", () => {
    const source = fs.readFileSync(path.join(root, 'runtime/src/domain/fleets/controller.ts'), 'utf8');
    for (const field of ['direction', 'servers', 'created', 'restored', 'reason']) assert.match(source, new RegExp(`\\b${field}:`), field);
  });
});

describe('the alert rules', () => {
  it('are each a query with the column they compare', () => {
    for (const alert of LOG_ALERTS) {
      assert.match(alert.query, new RegExp(`\\b${alert.measure}\\b`), alert.key);
      assert.match(alert.windowSize, /^PT\d+M$/);
      assert.ok(alert.severity >= 0 && alert.severity <= 4);
    }
    assert.equal(new Set(LOG_ALERTS.map((a) => a.key)).size, LOG_ALERTS.length);
  });

  it('have an action group short name Azure accepts (12 characters at most)', () => {
    assert.equal(actionGroupShortName('aci-fleet-eastus2-with-a-long-name'), 'aci-fleet-ea');
    assert.equal(actionGroupShortName('dev'), 'dev');
  });

  it('are each explained in docs/deploy.md, with what to do', () => {
    const docs = fs.readFileSync(path.join(root, 'docs/deploy.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Alerts'), docs.indexOf('\n## ', docs.indexOf('## Alerts') + 1));
    assert.ok(section.length > 100, 'docs/deploy.md has an "Alerts" section');
    for (const key of [...LOG_ALERTS.map((a) => a.key), 'dead-letters']) assert.match(section, new RegExp(`\`<fleetName>-${key}`), key);
  });
});

describe('the workbook', () => {
  it('is a Notebook/1.0 document with a query item per panel, falling back to the Application Insights it reads', () => {
    const doc = JSON.parse(workbookContent('fleet', '/subscriptions/s/resourcegroups/r/providers/microsoft.insights/components/ai'));
    assert.equal(doc.version, 'Notebook/1.0');
    assert.deepEqual(doc.fallbackResourceIds, ['/subscriptions/s/resourcegroups/r/providers/microsoft.insights/components/ai']);
    const items = doc.items.filter((i: { type: number }) => i.type === 3);
    assert.equal(items.length, WORKBOOK_PANELS.length);
    for (const item of items) {
      assert.equal(item.content.version, 'KqlItem/1.0');
      assert.equal(item.content.resourceType, 'microsoft.insights/components');
      assert.ok(item.content.query.length > 0);
    }
  });
});
