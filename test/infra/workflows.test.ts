// The CI workflows parse, run on the right events, log in to Azure by OIDC (no stored secret),
// cannot hurt production from a pull request (a read-only identity, no environment, no deploy
// token), deploy in a GitHub Environment, pin the Pulumi CLI, post previews on the pull request,
// and call scripts, files and stacks that exist.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { listStacks } from '../../infra/ci/stacks';

const root = path.resolve(__dirname, '../..');
const dir = path.join(root, '.github/workflows');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  environment?: string | { name: string };
  needs?: string[];
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
  strategy?: { matrix?: Record<string, unknown> };
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const workflows = new Map<string, Workflow>();
const texts = new Map<string, string>();
before(() => {
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    texts.set(f, text);
    workflows.set(f, parseYaml(text) as Workflow);
  }
});

const allJobs = () => [...workflows.values()].flatMap((w) => Object.entries(w.jobs));
/** The pulumi/actions steps of a job running `command`. */
const pulumiSteps = (job: Job, command?: string) =>
  job.steps.filter((s) => s.uses?.startsWith('pulumi/actions@') && (command === undefined || s.with?.command === command));
const jobRunning = (command: string) => allJobs().find(([, j]) => pulumiSteps(j, command).length > 0);
const runs = () =>
  allJobs()
    .flatMap(([, j]) => j.steps.map((s) => s.run ?? ''))
    .join('\n');

describe('workflows', () => {
  it('parse as YAML with jobs and steps', () => {
    assert.ok(files.length > 0);
    for (const [f, w] of workflows) {
      assert.ok(w.on && w.jobs, f);
      for (const [name, job] of Object.entries(w.jobs)) assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${f}:${name}`);
    }
  });

  it('run the tests on pull requests', () => {
    const test = allJobs().find(([, j]) => j.steps.some((s) => s.run === 'npm test'));
    assert.ok(test, 'a job runs npm test');
    const wf = [...workflows.values()].find((w) => Object.values(w.jobs).includes(test[1]))!;
    assert.ok('pull_request' in wf.on);
  });

  it('call only npm scripts that package.json defines', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const used = [...runs().matchAll(/npm (?:run )?([\w:-]+)/g)].map((m) => m[1]).filter((s) => !['ci', 'install'].includes(s));
    assert.ok(used.length > 0);
    for (const s of used) assert.ok(s in scripts, `npm script ${s}`);
  });

  it('call files and the policy pack that exist', () => {
    const referenced = [...runs().matchAll(/(?:tsx|node) ((?:infra|scripts|test)\/[\w./-]+)/g)].map((m) => m[1]);
    for (const f of referenced) assert.ok(fs.existsSync(path.join(root, f)), f);
    const packs = [
      ...[...runs().matchAll(/--policy-pack ([\w./-]+)/g)].map((m) => m[1]),
      ...allJobs().flatMap(([, j]) => pulumiSteps(j).map((s) => String(s.with?.policyPacks ?? ''))),
    ].filter(Boolean);
    assert.ok(packs.length >= 2, 'previews and updates run the policy pack');
    for (const pack of packs) assert.ok(fs.existsSync(path.join(root, pack, 'PulumiPolicy.yaml')), `${pack}/PulumiPolicy.yaml`);
  });

  it('preview every stack on pull requests and update every stack on main, after the tests, with the policy pack', () => {
    const preview = jobRunning('preview');
    const up = jobRunning('up');
    assert.ok(preview && up);
    assert.match(preview[1].if ?? '', /github\.event_name == 'pull_request'/);
    assert.match(up[1].if ?? '', /github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'/);
    for (const [, job] of [preview, up]) {
      assert.ok(job.needs?.includes('test'), 'waits for the tests');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template.
      assert.equal(job.strategy?.matrix?.stack, '${{ fromJSON(needs.stacks.outputs.stacks) }}');
      assert.equal(pulumiSteps(job)[0].with?.policyPacks, 'infra/policy');
    }
  });

  it('post the preview on the pull request', () => {
    const [, preview] = jobRunning('preview')!;
    const step = pulumiSteps(preview, 'preview')[0];
    assert.equal(step.with?.['comment-on-pr'], true);
    assert.match(String(step.with?.['github-token']), /secrets\.GITHUB_TOKEN/);
    assert.equal(preview.permissions?.['pull-requests'], 'write');
  });

  it('preview with a read-only identity and deploy only from the production environment', () => {
    const [, preview] = jobRunning('preview')!;
    const [, up] = jobRunning('up')!;
    assert.match(preview.env?.ARM_CLIENT_ID ?? '', /vars\.AZURE_PREVIEW_CLIENT_ID/);
    assert.match(up.env?.ARM_CLIENT_ID ?? '', /vars\.AZURE_DEPLOY_CLIENT_ID/);
    assert.equal(preview.environment, undefined, 'a pull request never runs in the deploy environment');
    assert.equal(typeof up.environment === 'string' ? up.environment : up.environment?.name, 'production');
    // Nothing of the deploy identity or the deploy token reaches a pull request's job.
    const previewText = JSON.stringify(preview);
    assert.doesNotMatch(previewText, /AZURE_DEPLOY_CLIENT_ID|secrets\.PULUMI_ACCESS_TOKEN\b/);
    for (const [name, job] of allJobs()) {
      if (name === 'up') continue;
      assert.doesNotMatch(JSON.stringify(job), /AZURE_DEPLOY_CLIENT_ID/, name);
    }
  });

  it('pin the Pulumi CLI to the version of the Pulumi SDK the program is built with', () => {
    const pin = fs.readFileSync(path.join(root, '.pulumi-version'), 'utf8').trim();
    assert.match(pin, /^\d+\.\d+\.\d+$/);
    const sdk = (
      JSON.parse(fs.readFileSync(require.resolve('@pulumi/pulumi/package.json', { paths: [root] }), 'utf8')) as { version: string }
    ).version;
    assert.equal(pin, sdk, 'bump .pulumi-version with @pulumi/pulumi');
    const steps = allJobs().flatMap(([, j]) => pulumiSteps(j));
    assert.ok(steps.length >= 2);
    for (const step of steps) assert.equal(step.with?.['pulumi-version-file'], '.pulumi-version', JSON.stringify(step));
    assert.doesNotMatch(runs(), /pulumi\/actions|curl .*get\.pulumi\.com/, 'no unpinned CLI installs');
  });

  it('log in to Azure by OIDC and store no client secret', () => {
    for (const [name, job] of allJobs()) {
      const usesAzure = Object.keys(job.env ?? {}).some((k) => k.startsWith('ARM_'));
      if (!usesAzure) continue;
      assert.equal(job.permissions?.['id-token'], 'write', `${name} can request an OIDC token`);
      assert.equal(job.env?.ARM_USE_OIDC, 'true', name);
    }
    for (const [f, text] of texts) {
      assert.doesNotMatch(text, /CLIENT_SECRET|client-secret|creds:/i, `${f} stores no Azure secret`);
    }
  });
});

describe('stacks', () => {
  it('lists exactly the stack files that exist', () => {
    const stacks = listStacks(root);
    assert.ok(stacks.length >= 2);
    for (const s of stacks) assert.ok(fs.existsSync(path.join(root, `Pulumi.${s}.yaml`)), s);
  });

  it('prints them as the JSON the workflow matrix reads', () => {
    const printed = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'infra/ci/stacks.ts')], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(printed), listStacks(root));
  });
});
