// The local fleet keeps what it acknowledged: a terminal's Ctrl-C (SIGINT to the whole process
// group of `npm start`) loses no write, and a restarted fleet has the same servers and the same
// container groups, with what was under way finished, never a server without its group.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { disagreements } from '../support/consistency';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

const ROOT = resolve(__dirname, '../..');
const games = (containerGroupName: string) => ({ resourceGroup: 'games', containerGroupName });

interface StartedFleet {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `npm start` as a terminal runs it: its own process group (the terminal's foreground group), in
 * `cwd` (so its data is in `cwd`/.local), through tsx. Resolves once it prints its URL.
 */
async function npmStart(cwd: string, key: string): Promise<StartedFleet> {
  const loader = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, join(ROOT, 'runtime/local/main.ts')], {
    cwd,
    detached: true,
    env: { ...process.env, PORT: '0', LOCAL_FUNCTION_KEY: key, EMULATOR_PROVISIONING_MS: '50' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const url = await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    return /aci-fleet is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  }, 'npm start to print its URL');
  return { child, url, output: () => output, exited };
}

/** What a terminal does on Ctrl-C: SIGINT to every process of the foreground group. */
async function ctrlC(fleet: StartedFleet): Promise<void> {
  process.kill(-fleet.child.pid!, 'SIGINT');
  const { code } = await fleet.exited;
  assert.equal(code, 0, `npm start stops cleanly on Ctrl-C:\n${fleet.output()}`);
}

async function api(fleet: StartedFleet, key: string, name: string, body?: unknown) {
  const res = await fetch(`${fleet.url}/api/${name}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-functions-key': key },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('Ctrl-C on npm start, then npm start again', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'aci-fleet-ctrl-c-'));
  const key = randomBytes(12).toString('hex');
  const running: StartedFleet[] = [];
  after(() => {
    for (const f of running) if (f.child.exitCode === null) process.kill(-f.child.pid!, 'SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('keeps every write acknowledged just before the Ctrl-C, and the container groups with them', async () => {
    const first = await npmStart(cwd, key);
    running.push(first);
    const state = async (f: StartedFleet) =>
      Object.fromEntries(
        (await api(f, key, 'ACIList?state=all')).body.map((s: any) => [s.ContainerGroupName, `${s.State} ${s.ActiveSessions}`]),
      );

    assert.equal((await api(first, key, 'ACICreate', createBody('gs-1'))).status, 202);
    await eventually(async () => (await state(first))['gs-1'] === 'Running 0', 'gs-1 Running');
    assert.equal((await api(first, key, 'ACISetSessions', [{ ...games('gs-1'), activeSessions: 5 }])).status, 200);
    assert.equal((await api(first, key, 'ACISetSessions', [{ ...games('gs-1'), activeSessions: 3 }])).status, 200);
    assert.equal((await api(first, key, 'ACICreate', createBody('gs-2'))).status, 202);
    // The Creating → Running move, acknowledged by ACIMonitor, is the last write before the Ctrl-C.
    await eventually(async () => (await state(first))['gs-2'] === 'Running 0', 'gs-2 Running');
    await ctrlC(first);

    const second = await npmStart(cwd, key);
    running.push(second);
    assert.deepEqual(await state(second), { 'gs-1': 'Running 3', 'gs-2': 'Running 0' });
    for (const name of ['gs-1', 'gs-2']) {
      const details = await api(second, key, 'ACIDetails', games(name));
      assert.equal(details.status, 200, `${name}'s container group is still there: ${JSON.stringify(details.body)}`);
      assert.equal(details.body.provisioningState, 'Succeeded');
    }
    // The README's quick start, run again: its create is the same spec (200), its list not empty.
    assert.equal((await api(second, key, 'ACICreate', createBody('gs-1'))).status, 200);
    const booked = await api(second, key, 'ACIAllocate', { sessions: 1 });
    assert.equal(booked.status, 200, JSON.stringify(booked.body));
    assert.equal(
      (await api(second, key, 'ACIDetails', games(booked.body.ContainerGroupName))).status,
      200,
      'booked on a group that exists',
    );
    await ctrlC(second);
  });
});

describe('a restarted local fleet is the same fleet', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aci-fleet-restart-'));
  let fleet: LocalFleet | undefined;
  after(async () => {
    await fleet?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const restart = async (provisioningMs: number) => {
    await fleet?.stop();
    fleet = await startTestFleet({ dataDir, provisioningMs });
    return fleet;
  };
  const row = (f: LocalFleet, name: string) => f.services.store.get(games(name)).then((r) => r?.value);

  it('finishes after a restart what was provisioning or being deleted when it stopped', async () => {
    let f = await restart(30);
    for (const name of ['kept', 'doomed']) assert.equal((await call(f, 'ACICreate', createBody(name))).status, 202);
    await eventually(async () => (await row(f, 'kept'))?.state === 'Running' && (await row(f, 'doomed'))?.state === 'Running', 'Running');
    await call(f, 'ACISetSessions', [{ ...games('kept'), activeSessions: 2 }]);
    const ip = (await row(f, 'kept'))?.publicIp;

    // Slow provisioning, so the create is still under way when the fleet stops; the delete may be too.
    f = await restart(60_000);
    assert.equal((await call(f, 'ACICreate', createBody('slow'))).status, 202);
    assert.equal((await call(f, 'ACIDelete', games('doomed'))).status, 200);

    f = await restart(30);
    assert.deepEqual(
      { state: (await row(f, 'kept'))?.state, sessions: (await row(f, 'kept'))?.activeSessions, ip: (await row(f, 'kept'))?.publicIp },
      { state: 'Running', sessions: 2, ip },
    );
    await eventually(async () => (await row(f, 'slow'))?.state === 'Running', 'the interrupted create ends Running');
    await eventually(async () => (await row(f, 'doomed')) === undefined, 'the interrupted delete ends with the row gone');
    await f.emulator.idle();
    assert.ok(!f.emulator.groups().some((g) => g.name === 'doomed'), 'and the group gone');
    assert.deepEqual(await disagreements(f), []);
  });

  it('does not serve servers whose container groups it no longer has (data from before it kept them)', async () => {
    let f = await restart(30);
    assert.equal((await call(f, 'ACICreate', createBody('orphan'))).status, 202);
    await eventually(async () => (await row(f, 'orphan'))?.state === 'Running', 'Running');
    await f.stop();
    fleet = undefined;
    rmSync(join(dataDir, 'aci-emulator.json'));

    f = await restart(30);
    const orphan = await row(f, 'orphan');
    assert.equal(orphan?.state, 'Failed', 'reconciled at start-up');
    assert.equal(orphan?.failureReason, 'container group no longer exists in Azure');
    assert.ok(!(await call(f, 'ACIList')).body.some((s: any) => s.ContainerGroupName === 'orphan'));
  });
});
