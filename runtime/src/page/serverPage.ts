// The list-servers page served at `/`: one self-contained HTML document (no CDN, works offline)
// showing every server with its fleet and revision, and the fleets' rollouts in progress,
// whose inline style and script are allowed by hash in a strict Content-Security-Policy.
// The script builds every cell with textContent, so a server's name can never become markup.
import { createHash } from 'node:crypto';

export interface ServerPageOptions {
  fleetName: string;
  /** Seconds between refreshes of the list. */
  refreshSeconds: number;
}

export interface ServerPage {
  html: string;
  headers: Record<string, string>;
}

const STYLE = `
:root{--bg:#f5f7fa;--panel:#fff;--ink:#1c2430;--muted:#667085;--line:#e4e8ee;--accent:#2f6fed;
--running:#16794c;--running-bg:#e3f5ec;--creating:#1d5fc9;--creating-bg:#e5eefc;--drain:#9a5b00;--drain-bg:#fff1d6;
--deleting:#4b5563;--deleting-bg:#eceef1;--failed:#b42318;--failed-bg:#fde8e6}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif}
header{display:flex;align-items:center;gap:12px;padding:14px 24px;background:#101828;color:#fff}
header h1{margin:0;font-size:17px;font-weight:650;letter-spacing:.2px}
header .fleet{color:#98a2b3;font-size:13px}
header .spacer{flex:1}
header .updated{color:#98a2b3;font-size:12px}
button{font:inherit;border:1px solid var(--line);background:var(--panel);color:var(--ink);border-radius:6px;padding:5px 12px;cursor:pointer}
button:hover{border-color:#c5ccd6}
header button{background:#1d2939;border-color:#344054;color:#fff}
header button:hover{border-color:#667085}
main{padding:18px 24px 32px;max-width:1480px;margin:0 auto}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:14px}
.total{display:flex;flex-direction:column;align-items:flex-start;min-width:128px;padding:10px 14px;border-radius:8px;text-align:left}
.total .n{font-size:22px;font-weight:650;line-height:1.1;font-variant-numeric:tabular-nums}
.total .label{font-size:12px;color:var(--muted)}
.total[aria-pressed=true]{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent) inset}
.toolbar{display:flex;align-items:center;gap:12px;margin-bottom:10px}
.toolbar input{font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:6px;min-width:260px;background:var(--panel)}
.toolbar .summary{color:var(--muted);font-size:13px}
.status{margin:0 0 10px;padding:8px 12px;border-radius:6px;background:var(--failed-bg);color:var(--failed)}
.status:empty{display:none}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;overflow:auto}
table{border-collapse:collapse;width:100%}
th{position:sticky;top:0;background:#f9fafb;color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.4px;text-align:left;padding:9px 12px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:9px 10px;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
tr:last-child td{border-bottom:0}
tbody tr:hover{background:#f9fbff}
td.num{font-variant-numeric:tabular-nums}
.name{font-weight:600}
.sub{color:var(--muted);font-size:12px}
.trunc{max-width:190px;overflow:hidden;text-overflow:ellipsis}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600}
.s-Running{color:var(--running);background:var(--running-bg)}
.s-Creating{color:var(--creating);background:var(--creating-bg)}
.s-MarkedForDeletion{color:var(--drain);background:var(--drain-bg)}
.s-Deleting{color:var(--deleting);background:var(--deleting-bg)}
.s-Failed{color:var(--failed);background:var(--failed-bg)}
.reason{max-width:280px;white-space:normal;color:var(--failed);font-size:12px}
.bar{width:90px;height:6px;border-radius:3px;background:var(--line);margin-top:4px;overflow:hidden}
.bar>span{display:block;height:100%;background:var(--accent)}
.bar.full>span{background:var(--drain)}
.empty{padding:28px;text-align:center;color:var(--muted)}
.tag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;font-size:11px;font-weight:600}
.tag.outdated{color:var(--drain);background:var(--drain-bg)}
.rollouts{display:flex;flex-direction:column;gap:8px;margin-bottom:14px}
.rollouts:empty{display:none}
.rollout{background:var(--panel);border:1px solid var(--line);border-left:4px solid var(--creating);border-radius:8px;padding:10px 14px}
.rollout.Paused{border-left-color:var(--failed)}
.rollout.Deleting{border-left-color:var(--deleting)}
.rollout .title{font-weight:600}
.rollout .why{color:var(--muted);font-size:12px;white-space:normal}
.rollout.Paused .why{color:var(--failed)}
.rollout.quota{border-left-color:var(--drain)}
.rollout .bar{width:220px}
.key{max-width:420px;margin:60px auto;background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:22px 24px}
.key h2{margin:0 0 6px;font-size:17px}
.key p{margin:0 0 14px;color:var(--muted)}
.key input{width:100%;font:inherit;padding:8px 10px;border:1px solid var(--line);border-radius:6px;margin-bottom:12px}
.key button{background:var(--accent);border-color:var(--accent);color:#fff}
.key .error{color:var(--failed);margin:10px 0 0}
[hidden]{display:none!important}
`;

// Plain browser JavaScript (ES2020), no framework. Everything shown goes through textContent.
const SCRIPT = `
(() => {
  'use strict';
  const STATES = ['Running', 'Creating', 'MarkedForDeletion', 'Failed', 'Deleting'];
  const LABELS = { MarkedForDeletion: 'Draining' };
  const KEY_ITEM = 'aci-fleet.functionKey';
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const refreshMs = Math.max(500, 1000 * (Number(params.get('refresh')) || Number(document.body.dataset.refreshSeconds) || 10));
  let servers = [];
  let fleets = [];
  let filter = (location.hash.match(/state=([A-Za-z]+)/) || [])[1] || 'all';
  let timer;

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const ago = (iso) => {
    if (!iso) return 'never';
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (!isFinite(s)) return '?';
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  };
  const label = (state) => LABELS[state] || state;

  function showKeyForm(message) {
    $('app').hidden = true;
    $('key-panel').hidden = false;
    $('key-error').textContent = message || '';
    $('key-input').focus();
  }

  async function load() {
    clearTimeout(timer);
    const key = sessionStorage.getItem(KEY_ITEM);
    const headers = key ? { 'x-functions-key': key } : {};
    // The fleets need the key even when the list is public: without one the page shows no rollouts.
    const fleetsLoaded = fetch('api/fleets', { headers, cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : []))
      .catch(() => []);
    try {
      const res = await fetch('api/ACIList?state=all', { headers, cache: 'no-store' });
      if (res.status === 401) {
        sessionStorage.removeItem(KEY_ITEM);
        showKeyForm(key ? 'That key was refused. Check it and try again.' : '');
        return;
      }
      const body = await res.json().catch(() => undefined);
      if (!res.ok) throw new Error((body && body.error && body.error.message) || 'HTTP ' + res.status);
      servers = Array.isArray(body) ? body : [];
      const loaded = await fleetsLoaded;
      fleets = Array.isArray(loaded) ? loaded : [];
      $('status').textContent = '';
      $('key-panel').hidden = true;
      $('app').hidden = false;
      $('forget').hidden = !key;
      $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
      render();
    } catch (e) {
      $('status').textContent = 'Could not load the servers: ' + (e && e.message ? e.message : e) + '. Retrying…';
    }
    timer = setTimeout(load, refreshMs);
  }

  function renderTotals() {
    const counts = { all: servers.length };
    STATES.forEach((s) => (counts[s] = 0));
    servers.forEach((s) => (counts[s.State] = (counts[s.State] || 0) + 1));
    const nav = $('totals');
    nav.replaceChildren();
    ['all'].concat(STATES).forEach((state) => {
      const b = el('button', 'total' + (state === 'all' ? '' : ' s-' + state));
      b.type = 'button';
      b.dataset.state = state;
      b.setAttribute('aria-pressed', String(filter === state));
      b.append(el('span', 'n', counts[state] || 0), el('span', 'label', state === 'all' ? 'All servers' : label(state)));
      b.addEventListener('click', () => {
        filter = filter === state ? 'all' : state;
        history.replaceState(null, '', filter === 'all' ? location.pathname + location.search : '#state=' + filter);
        render();
      });
      nav.append(b);
    });
  }

  const fleetNamed = (name) => fleets.find((f) => f.Name === name);

  /** Fleets whose rollout is under way, paused or being deleted, or that ACI's quota holds back: one line each, with its progress and why. */
  function renderRollouts() {
    const box = $('rollouts');
    box.replaceChildren();
    fleets
      .filter((f) => f.Status && (f.Status.State !== 'Complete' || f.Status.QuotaReached))
      .forEach((f) => {
        const st = f.Status;
        const div = el('div', 'rollout ' + st.State + (st.QuotaReached ? ' quota' : ''));
        div.dataset.fleet = f.Name;
        const title =
          st.State === 'Paused'
            ? f.Name + ': rollout to revision ' + f.Revision + ' paused'
            : st.State === 'Deleting'
              ? f.Name + ': being deleted'
              : st.State === 'Complete'
                ? f.Name + ": held at ACI's quota · " + st.Ready + ' / ' + st.Desired + ' ready'
                : f.Name + ': rolling out revision ' + f.Revision + ' · ' + st.Ready + ' / ' + st.Desired + ' ready · ' + st.Outdated + ' old left';
        div.append(el('div', 'title', title));
        const bar = el('div', 'bar');
        const fill = el('span');
        fill.style.width = Math.min(100, Math.round((100 * st.Ready) / Math.max(1, st.Desired))) + '%';
        bar.append(fill);
        if (st.State !== 'Deleting') div.append(bar);
        div.append(el('div', 'why', st.Reason));
        box.append(div);
      });
  }

  function row(s) {
    const tr = el('tr');
    tr.dataset.server = s.ResourceGroup + '/' + s.ContainerGroupName;
    const name = el('td');
    const title = el('div', 'name trunc', s.ContainerGroupName);
    title.title = s.ContainerGroupName;
    const where = el('div', 'sub fleet', s.ResourceGroup + (s.Fleet ? ' · ' + s.Fleet + ' r' + s.Revision : ''));
    const fleet = s.Fleet ? fleetNamed(s.Fleet) : undefined;
    if (fleet && s.Revision !== fleet.Revision) {
      const tag = el('span', 'tag outdated', 'outdated');
      tag.title = 'revision ' + s.Revision + ' of ' + fleet.Revision + ': drained as the rollout goes, kept until its sessions end';
      where.append(tag);
    }
    name.append(title, where);
    const state = el('td');
    const badge = el('span', 'badge s-' + s.State, label(s.State));
    badge.title = s.State + ' since ' + (s.StateChangedAt || '?');
    state.append(badge);
    if (s.FailureReason) state.append(el('div', 'reason', s.FailureReason));
    const address = el('td');
    address.append(el('div', 'mono', s.PublicIP || '—'));
    if (s.Fqdn) {
      const fqdn = el('div', 'sub mono trunc', s.Fqdn);
      fqdn.title = s.Fqdn;
      address.append(fqdn);
    }
    const sessions = el('td', 'num sessions');
    sessions.append(el('div', '', s.ActiveSessions + ' / ' + s.MaxSessions));
    const bar = el('div', 'bar' + (s.ActiveSessions >= s.MaxSessions ? ' full' : ''));
    const fill = el('span');
    fill.style.width = Math.min(100, Math.round((100 * s.ActiveSessions) / Math.max(1, s.MaxSessions))) + '%';
    bar.append(fill);
    sessions.append(bar);
    const resources = el('td', 'num', s.CPU + ' vCPU · ' + s.RAM + ' GB');
    const image = el('div', 'sub mono trunc', s.Image);
    image.title = s.Image;
    resources.append(image);
    const age = el('td', 'num', ago(s.CreatedAt));
    age.title = s.CreatedAt || '';
    const report = el('td', 'num', ago(s.LastReportAt));
    report.title = s.LastReportAt || 'no report yet';
    tr.append(name, state, address, sessions, el('td', '', s.Location), resources, age, report);
    return tr;
  }

  function render() {
    renderTotals();
    renderRollouts();
    const text = $('search').value.trim().toLowerCase();
    const shown = servers.filter(
      (s) =>
        (filter === 'all' || s.State === filter) &&
        (!text ||
          (s.ContainerGroupName + ' ' + s.ResourceGroup + ' ' + (s.PublicIP || '') + ' ' + s.Location + ' ' + (s.Fleet || ''))
            .toLowerCase()
            .includes(text)),
    );
    $('rows').replaceChildren(...shown.map(row));
    $('empty').hidden = shown.length > 0;
    const running = servers.filter((s) => s.State === 'Running');
    const used = running.reduce((n, s) => n + s.ActiveSessions, 0);
    const capacity = running.reduce((n, s) => n + s.MaxSessions, 0);
    $('summary').textContent =
      'Showing ' + shown.length + ' of ' + servers.length + ' · Running sessions ' + used + ' / ' + capacity;
  }

  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('key-input').value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY_ITEM, value);
    $('key-input').value = '';
    load();
  });
  $('refresh').addEventListener('click', load);
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_ITEM);
    location.reload();
  });
  $('search').addEventListener('input', render);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) load();
  });
  load();
})();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The Content-Security-Policy: nothing but this page's own style and script, and calls to this origin. */
export const SERVER_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderServerPage(options: ServerPageOptions): ServerPage {
  const fleet = escapeHtml(options.fleetName);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${fleet} · servers</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-refresh-seconds="${Number(options.refreshSeconds)}">
<header>
  <h1>aci-fleet</h1><span class="fleet">${fleet}</span>
  <span class="spacer"></span>
  <span class="updated" id="updated"></span>
  <button type="button" id="refresh">Refresh</button>
  <button type="button" id="forget" hidden>Forget key</button>
</header>
<main>
  <section class="key" id="key-panel" hidden>
    <h2>Function key needed</h2>
    <p>The server list is protected. Paste the function key; it is kept for this tab only.</p>
    <form id="key-form" autocomplete="off">
      <input id="key-input" type="password" aria-label="Function key" placeholder="Function key">
      <button type="submit">Show servers</button>
      <p class="error" id="key-error" role="alert"></p>
    </form>
  </section>
  <div id="app">
    <p class="status" id="status" role="status"></p>
    <nav class="totals" id="totals" aria-label="Servers by state"></nav>
    <section class="rollouts" id="rollouts" aria-label="Rollouts in progress"></section>
    <div class="toolbar">
      <input id="search" type="search" placeholder="Filter by name, group, fleet, IP or region" aria-label="Filter servers">
      <span class="summary" id="summary"></span>
    </div>
    <div class="card">
      <table>
        <thead><tr><th>Server</th><th>State</th><th>Address</th><th>Sessions</th><th>Location</th><th>CPU / RAM</th><th>Age</th><th>Last report</th></tr></thead>
        <tbody id="rows"></tbody>
      </table>
      <div class="empty" id="empty" hidden>No servers to show.</div>
    </div>
  </div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
  return {
    html,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': SERVER_PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    },
  };
}
