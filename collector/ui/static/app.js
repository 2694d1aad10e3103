// @ts-check
// The nodeward dashboard. Plain JavaScript with no build step, loaded as a module by every
// page; the page's <body data-page> says what to draw. Data comes from the query API with
// the session cookie.
//
// An admin's session also changes things, through the same API calls the CLI makes (suppress,
// unsuppress, allow, lock, unlock, retry, delete a node), each with the session's CSRF token
// in the x-nodeward-csrf header (GET /ui/session gives it, with the session's name and role).
// A reader's page shows no action at all; the collector refuses a reader's write anyway.
//
// The clusters: a collector that reads other clusters (GET /api/v1/clusters lists more than
// one) shows a cluster selector on the overview, findings and processes pages; it sets the
// `cluster` parameter of their API calls (a name or uid, or * for every cluster, with a Cluster
// column). Another cluster's node is shown as text: its page is its own collector's.
//
// The one rule: every string that came from a node (subjects, command lines, titles,
// versions, reasons) is inserted as TEXT: through el() below, which only ever creates text
// nodes and sets a fixed set of attributes. Nothing here assigns innerHTML, outerHTML or
// insertAdjacentHTML, or uses document.write or eval. The Content-Security-Policy the
// collector sends forbids inline scripts and styles as a second line of defence.

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const STATES = ['open', 'suppressed', 'resolved'];
const CATEGORIES = ['kubelet', 'control-plane', 'etcd', 'certificate', 'host', 'process', 'version', 'agent',
  'rbac', 'pod-security', 'network-policy', 'namespace', 'secrets', 'general'];
/** Where findings are: on nodes, or about the cluster's API objects (RBAC and the other posture checks). */
const SCOPES = ['node', 'cluster'];
const FILTERS = ['scope', 'node', 'check', 'category', 'severity', 'minSeverity', 'state', 'q', 'sort', 'cluster'];
/** The findings list's orders (GET /api/v1/findings?sort=): severity, most severe first, is the API's default. */
const SORTS = [['severity', 'most severe first'], ['lastSeen', 'last seen, newest first'], ['firstSeen', 'first seen, newest first'],
  ['node', 'by node'], ['check', 'by check']];
const PROCESS_FILTERS = ['node', 'namespace', 'workload', 'state', 'cluster'];
const PAGE_SIZE = 100;

/**
 * Creates an element. Children that are strings or numbers become text nodes; null and
 * undefined are skipped. Attributes are set with setAttribute (never as HTML).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | undefined | null>} [attrs]
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

/** A link inside the dashboard; `params` are encoded, never spliced in raw. */
function link(path, params, ...children) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return el('a', { href: s ? `${path}?${s}` : path }, ...children);
}

class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * GETs a query API path. A 401 means the session ended: back to the login page.
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [params]
 */
async function api(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const url = `/api/v1/${path}${qs.toString() ? `?${qs}` : ''}`;
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.assign('/ui/login');
    throw new HttpError(401, 'the session has ended');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new HttpError(res.status, typeof body.error === 'string' ? body.error : `HTTP ${res.status}`);
  return body;
}

/**
 * The session: who is logged in, their role, and the CSRF token writes carry. Read once per page.
 * @type {{ name: string, role: string, csrfToken: string, allowFrom: string[], allowListenFrom: string[] } | null}
 */
let session = null;

const isAdmin = () => session !== null && session.role === 'admin';

async function loadSession() {
  const res = await fetch('/ui/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.assign('/ui/login');
    throw new HttpError(401, 'the session has ended');
  }
  if (!res.ok) throw new HttpError(res.status, `the session could not be read (HTTP ${res.status})`);
  session = await res.json();
  const who = document.getElementById('who');
  if (who && session) who.textContent = `${session.name} (${session.role})`;
  if (isAdmin()) for (const a of document.querySelectorAll('[data-role="admin"]')) a.removeAttribute('hidden');
}

/**
 * A change through the query API, as an admin: the same call the CLI makes, with the session's
 * CSRF token. Answers the response body; a refusal throws with the API's error.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
async function send(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', 'x-nodeward-csrf': session ? session.csrfToken : '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1/${path}`, {
    method, credentials: 'same-origin', headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401) {
    location.assign('/ui/login');
    throw new HttpError(401, 'the session has ended');
  }
  const out = await res.json().catch(() => ({}));
  if (!res.ok) throw new HttpError(res.status, typeof out.error === 'string' ? out.error : `HTTP ${res.status}`);
  return out;
}

/**
 * A button that runs an admin's change: disabled while it runs; an error is shown next to it,
 * and `done` runs after a success (usually: draw the page again).
 * @param {string | undefined} id
 * @param {string} label
 * @param {() => Promise<unknown>} change
 * @param {(out: any) => unknown} done
 */
function actionButton(id, label, change, done) {
  const b = el('button', { type: 'button', id, class: 'action' }, label);
  b.addEventListener('click', () => runAction(b, change, done));
  return b;
}

/** Runs a change for a button or a form's submit button. */
async function runAction(button, change, done) {
  button.disabled = true;
  const place = button.parentElement;
  place?.querySelector(':scope > .error')?.remove();
  try {
    const out = await change();
    await done(out);
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) return;
    place?.append(errorBox(err));
  } finally {
    button.disabled = false;
  }
}

const main = () => /** @type {HTMLElement} */ (document.getElementById('main'));

/** Replaces the page content. */
function show(...nodes) {
  main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
}

function errorBox(err) {
  return el('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

// ---------------------------------------------------------------------------------------
// Formatting

function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  if (s < 0) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function time(iso) {
  return iso ? el('time', { datetime: iso, title: iso }, ago(iso)) : el('span', { class: 'muted' }, '—');
}

function pct(score) {
  return score === null || score === undefined ? '—' : `${Math.round(score * 1000) / 10}%`;
}

function scoreBadge(score) {
  const cls = score === null || score === undefined ? 'none' : score >= 0.9 ? 'good' : score >= 0.7 ? 'fair' : 'poor';
  return el('span', { class: `score score-${cls}` }, pct(score));
}

function sevBadge(sev) {
  return el('span', { class: `sev sev-${SEVERITIES.includes(sev) ? sev : 'info'}` }, sev);
}

function stateBadge(state) {
  return el('span', { class: `state state-${STATES.includes(state) ? state : 'open'}` }, state);
}

function nodeStatus(n) {
  // A node no agent reports from (the collector's node watch): missing, or not expected to run one.
  if (n.agentMissing) return el('span', { class: 'status status-stale' }, n.agentMissing.state === 'suppressed' ? 'agent missing (suppressed)' : 'agent missing');
  if (n.source === 'cluster') {
    const why = n.cluster && n.cluster.agentExpected === false ? 'no agent (not expected)' : n.cluster && !n.cluster.ready ? 'no agent (not ready)' : 'no agent yet';
    return el('span', { class: 'status status-disconnected' }, why);
  }
  if (n.stale) return el('span', { class: 'status status-stale' }, 'stale');
  return n.connected ? el('span', { class: 'status status-connected' }, 'connected') : el('span', { class: 'status status-disconnected' }, 'disconnected');
}

/** Why a node has no agent, as text (it names taints and labels from the cluster): the finding's reason, or why the DaemonSet does not run there. */
function whyNoAgent(n) {
  if (n.agentMissing) return n.agentMissing.reason;
  return n.source === 'cluster' && n.cluster ? n.cluster.reason : '';
}

/** The demo label of a node that is an agent scanning a fixture tree (collector setting nodes.demo). */
function demoBadge(n) {
  return n.demo ? el('span', { class: 'demo-badge', title: 'A demo node: an agent scanning a fixture host tree, not a real node' }, 'demo') : null;
}

/** Every result of the node a skip: no check applied (no kubelet, no control-plane component). */
function allSkipped(r) {
  if (!r) return false;
  const total = r.pass + r.fail + r.warn + r.skip + r.error;
  return total > 0 && r.skip === total;
}

function resultsText(r) {
  if (!r) return '';
  const total = r.pass + r.fail + r.warn + r.skip + r.error;
  return total === 0 ? 'no scan yet' : `${total} checks: ${r.fail} failing, ${r.warn} warnings, ${r.pass} passing, ${r.skip} skipped, ${r.error} errors`;
}

/** Time until (or since) `iso`, coarsely: "in 23 h", "in 40 min". */
function until(iso) {
  const min = Math.round((Date.parse(iso) - Date.now()) / 60000);
  if (!Number.isFinite(min)) return '';
  return min >= 120 ? `in ${Math.round(min / 60)} h` : min > 0 ? `in ${min} min` : 'now';
}

/** Where the node's host process learning stands (its agent's latest report). */
function learningText(h) {
  if (!h) return el('span', { class: 'muted', id: 'node-learning' }, 'not reported (no process monitoring, or no report yet)');
  if (h.state === 'learning') {
    return el('span', { id: 'node-learning', 'data-state': 'learning' }, el('strong', {}, 'learning'),
      h.until ? ` until ${h.until} (${until(h.until)})` : '', el('span', { class: 'muted small' }, ` — ${h.key}: until then what runs on this host is learned, not reported (except code run from memory or a deleted file)`));
  }
  return el('span', { id: 'node-learning', 'data-state': 'locked' }, 'locked',
    h.lockedBy === 'operator' ? ' by an operator' : h.until ? ` at ${h.until}` : '', el('span', { class: 'muted small' }, ` — ${h.key}: a process outside it is a finding`));
}

/** Said when every check on a node was skipped: it is not a Kubernetes node, and how to see a triage. */
function notANodeNotice(n, demoShown) {
  return el('p', { class: 'notice', 'data-node': n.name },
    el('strong', {}, n.name), `: all ${n.results.skip} checks were skipped: no kubelet and no control-plane component (API server, controller manager, scheduler, etcd) runs there, so it is not a Kubernetes node and the node checks do not apply. `,
    demoShown ? 'The demo nodes show what a triage looks like.' : 'To see a full triage, start the local setup with demo nodes: ',
    demoShown ? null : el('code', {}, 'npm start -- --demo'));
}

function bytes(n) {
  if (!n) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** The command line of a process finding, when its detail carries one. */
function cmdline(f) {
  const d = f.detail;
  if (!d || typeof d !== 'object') return '';
  const c = d.cmdline ?? d.commandLine ?? d.argv;
  if (Array.isArray(c)) return c.map(String).join(' ');
  return typeof c === 'string' ? c : '';
}

function table(head, rows, attrs = {}) {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows));
}

function dl(pairs) {
  const d = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) d.append(el('dt', {}, k), el('dd', {}, v === '' || v === null || v === undefined ? el('span', { class: 'muted' }, '—') : v));
  return d;
}

// ---------------------------------------------------------------------------------------
// Clusters

/**
 * The clusters the collector reads, its own first (GET /api/v1/clusters), read once per page.
 * @type {Array<{ uid: string, name: string, own: boolean }>}
 */
let clusters = [];

async function loadClusters() {
  // Their names only: the counts would read every cluster's store on every page.
  clusters = (await api('clusters', { counts: 'false' })).items;
}

/** What the cluster parameter says of a cluster: its uid, or its name when it has none. */
const clusterParam = (c) => c.uid || c.name;

/** The cluster selector of a filter form: none when the collector reads only its own cluster. */
function clusterSelect(current) {
  if (clusters.length <= 1) return null;
  const chosen = current.cluster ?? '';
  return el('label', { id: 'cluster-select' }, 'Cluster',
    el('select', { name: 'cluster' },
      ...clusters.map((c) => el('option', { value: c.own ? '' : clusterParam(c), selected: c.own ? chosen === '' : chosen === clusterParam(c) || chosen === c.name },
        c.own ? `${c.name} (this collector's)` : c.name)),
      el('option', { value: '*', selected: chosen === '*' }, 'every cluster')));
}

/** A row of the own cluster (whose node pages this collector has). */
function ownRow(name, uid) {
  const own = clusters.find((c) => c.own);
  return !own || (own.name === name && own.uid === uid);
}

/** A node's name: a link to its page in the own cluster, text in another. */
function nodeName(name, clusterName, clusterUid) {
  return ownRow(clusterName, clusterUid) ? link('/ui/node', { name }, name) : el('span', { class: 'other-cluster-node' }, name);
}

function markNav(which) {
  for (const a of document.querySelectorAll('nav a')) if (a.getAttribute('data-nav') === which) a.setAttribute('aria-current', 'page');
}

// ---------------------------------------------------------------------------------------
// Findings table (used by the findings page and the node page)

function findingRow(f, opts = {}) {
  const cmd = cmdline(f);
  return el('tr', { 'data-id': f.id, 'data-severity': f.severity, 'data-state': f.state, 'data-cluster': f.cluster },
    opts.clusterColumn ? el('td', { class: 'cluster' }, f.cluster) : null,
    el('td', {}, sevBadge(f.severity)),
    el('td', {}, stateBadge(f.state)),
    opts.hideNode ? null : el('td', { class: 'node' }, f.scope === 'cluster' ? el('span', { class: 'muted' }, 'cluster') : nodeName(f.node, f.cluster, f.clusterUid)),
    el('td', { class: 'check' }, link('/ui/finding', { id: f.id }, f.checkId), el('div', { class: 'muted small' }, f.title)),
    el('td', { class: 'subject' }, el('code', {}, f.subject), cmd ? el('div', { class: 'cmdline' }, el('code', {}, cmd)) : null,
      f.actual ? el('div', { class: 'muted small actual' }, 'value: ', el('code', {}, f.actual)) : null),
    el('td', { class: 'num' }, f.count),
    el('td', {}, time(f.lastSeen)));
}

/**
 * A table filled from one of the API's paged lists, loading page after page on demand.
 * @param {string} path
 * @param {Record<string, string>} query
 * @param {{ head: string[], row: (item: any) => HTMLElement, ids: { wrap: string, table: string, count: string },
 *   noun: [string, string], empty: string }} opts
 */
async function pagedTable(path, query, opts) {
  const wrap = el('div', { class: opts.ids.wrap });
  // A page may hold fewer items than asked for and still have a next one (a search reads a
  // bounded part of the findings per page): a few more pages are read to fill a screen.
  // Across clusters, a cluster whose store failed the read is left out and named (unreadable): said above the table.
  const left = el('p', { class: 'notice', id: 'unreadable-clusters', hidden: true });
  const leftOut = new Map();
  const fill = async (cursor) => {
    const items = [];
    let next = cursor;
    for (let reads = 0; reads < 5 && (reads === 0 || (next && items.length < PAGE_SIZE)); reads++) {
      const page = await api(path, { ...query, limit: PAGE_SIZE, ...(next ? { cursor: next } : {}) });
      items.push(...page.items);
      for (const u of page.unreadable ?? []) leftOut.set(`${u.clusterUid}/${u.cluster}`, u.cluster);
      next = page.nextCursor;
    }
    left.textContent = `Left out: ${[...leftOut.values()].join(', ')}, whose store could not be read now.`;
    left.hidden = leftOut.size === 0;
    return { items, next };
  };
  const first = await fill(null);
  const tbl = table(opts.head, first.items.map(opts.row), { class: opts.ids.table.replace(/-table$/, ''), id: opts.ids.table });
  const count = el('p', { class: 'count', id: opts.ids.count });
  let shown = first.items.length;
  let cursor = first.next;
  const more = el('button', { type: 'button', id: 'more' }, 'Show more');
  const update = () => {
    count.textContent = shown === 0 ? (cursor ? `No ${opts.noun[1]} found yet: Show more searches further.` : opts.empty)
      : `${shown} ${opts.noun[shown === 1 ? 0 : 1]}${cursor ? ' shown; there are more' : ''}`;
    more.hidden = !cursor;
    tbl.hidden = shown === 0;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await fill(cursor);
      const body = tbl.querySelector('tbody');
      for (const item of page.items) body?.append(opts.row(item));
      shown += page.items.length;
      cursor = page.next;
      update();
    } catch (err) {
      wrap.append(errorBox(err));
    } finally {
      more.disabled = false;
    }
  });
  update();
  wrap.append(left, count, tbl, more);
  return wrap;
}

/** @param {Record<string, string>} query */
function findingsList(query, opts = {}) {
  return pagedTable('findings', query, {
    head: [...(query.cluster === '*' ? ['Cluster'] : []), 'Severity', 'State', ...(opts.hideNode ? [] : ['Node']), 'Check', 'Subject', 'Count', 'Last seen'],
    row: (f) => findingRow(f, { ...opts, clusterColumn: query.cluster === '*' }),
    ids: { wrap: 'findings-list', table: 'findings-table', count: 'findings-count' },
    noun: ['finding', 'findings'],
    empty: 'No findings match.',
  });
}

// ---------------------------------------------------------------------------------------
// Unexpected processes table: one row per node, baseline and executable

function processRow(p, clusterColumn) {
  return el('tr', { 'data-id': p.id, 'data-node': p.node, 'data-state': p.state, 'data-cluster': p.cluster },
    clusterColumn ? el('td', { class: 'cluster' }, p.cluster) : null,
    el('td', { class: 'node' }, nodeName(p.node, p.cluster, p.clusterUid)),
    el('td', { class: 'where' }, /^host(\/control-plane|\/worker)?$/.test(p.baseline) ? el('strong', {}, p.baseline) : el('code', {}, p.baseline || '—'),
      p.pod ? el('div', { class: 'muted small' }, 'pod ', p.pod) : null),
    el('td', { class: 'exe' }, link('/ui/finding', { id: p.id }, el('code', {}, p.executable)),
      p.exeDeleted ? el('span', { class: 'muted small' }, ' (deleted)') : null),
    el('td', { class: 'cmdline' }, p.cmdline ? el('code', {}, p.cmdline) : el('span', { class: 'muted' }, '—')),
    el('td', { class: 'user' }, p.user),
    el('td', { class: 'num pid' }, p.pid ?? '—'),
    el('td', { class: 'parents' }, p.parents.length > 0 ? el('code', {}, p.parents.join(' ← ')) : el('span', { class: 'muted' }, '—')),
    el('td', { class: 'seen' }, p.seen),
    el('td', { class: 'num' }, p.count),
    el('td', {}, time(p.lastSeen)));
}

/** @param {Record<string, string>} query */
function processesList(query) {
  return pagedTable('processes/unexpected', query, {
    head: [...(query.cluster === '*' ? ['Cluster'] : []), 'Node', 'Where', 'Executable', 'Command line', 'User', 'PID', 'Parents', 'Seen by', 'Count', 'Last seen'],
    row: (p) => processRow(p, query.cluster === '*'),
    ids: { wrap: 'processes-list', table: 'processes-table', count: 'processes-count' },
    noun: ['process', 'processes'],
    empty: 'No unexpected process matches.',
  });
}

// ---------------------------------------------------------------------------------------
/**
 * Compliance per benchmark the nodes are judged under (a node judged under CIS EKS counts under
 * cis-eks-1.7): shown when there is more than one, or one that is not CIS Kubernetes.
 */
function byBenchmark(rows) {
  if (!rows || rows.length === 0 || (rows.length === 1 && rows[0].benchmark === 'cis-1.12')) return null;
  return el('ul', { class: 'by-benchmark muted' }, ...rows.map((b) => el('li', { 'data-benchmark': b.benchmark },
    el('code', {}, b.benchmark), ' ', scoreBadge(b.score), ` on ${b.nodes} node${b.nodes === 1 ? '' : 's'}`)));
}

// Pages

async function overview() {
  markNav('overview');
  await loadClusters();
  const query = queryFrom(['cluster']);
  const every = query.cluster === '*';
  const [summary, nodes] = await Promise.all([api('summary', { top: 10, cluster: query.cluster }), api('nodes', { limit: 1000, cluster: query.cluster })]);
  const picker = clusterSelect(query) && el('form', { method: 'get', action: '/ui/', class: 'filters', id: 'filters' }, clusterSelect(query), el('button', { type: 'submit' }, 'Show'));
  const sev = summary.findings.bySeverity;
  const cards = el('section', { class: 'cards' },
    el('div', { class: 'card', id: 'card-score' }, el('h2', {}, 'Compliance'), el('p', { class: 'big' }, scoreBadge(summary.compliance.score)),
      el('p', { class: 'muted small' }, `${summary.compliance.passing} of ${summary.compliance.scored} scored checks pass`),
      byBenchmark(summary.compliance.byBenchmark)),
    el('div', { class: 'card', id: 'card-nodes' }, el('h2', {}, 'Nodes'), el('p', { class: 'big' }, summary.nodes.total),
      el('p', { class: 'muted small' }, `${summary.nodes.connected} connected · `,
        summary.nodes.stale > 0 ? el('span', { class: 'status-stale' }, `${summary.nodes.stale} stale`) : '0 stale')),
    el('div', { class: 'card', id: 'card-open' }, el('h2', {}, 'Open findings'), el('p', { class: 'big' }, summary.findings.total),
      el('p', { class: 'muted small' }, link('/ui/findings', { ...query, state: 'open' }, 'see all'))),
    // Cluster findings (RBAC and the other posture checks): counted above too, about no node.
    summary.cluster && summary.cluster.total > 0
      ? el('div', { class: 'card', id: 'card-cluster' }, el('h2', {}, 'Cluster posture'), el('p', { class: 'big' }, summary.cluster.total),
        el('p', { class: 'muted small' }, link('/ui/findings', { ...query, state: 'open', scope: 'cluster' }, 'open cluster findings')))
      : null);

  const max = Math.max(1, ...SEVERITIES.map((s) => sev[s] ?? 0));
  const bars = el('section', { class: 'severity-counts', id: 'severity-counts' }, el('h2', {}, 'Open findings by severity'),
    ...SEVERITIES.map((s) => {
      const bar = el('span', { class: `bar sev-${s}` });
      bar.style.width = `${Math.round(((sev[s] ?? 0) / max) * 100)}%`;
      return el('div', { class: 'sev-row', 'data-severity': s },
        link('/ui/findings', { ...query, state: 'open', severity: s }, sevBadge(s)),
        el('span', { class: 'bar-track' }, bar),
        el('span', { class: 'num count' }, sev[s] ?? 0));
    }));

  const categories = Object.entries(summary.findings.byCategory);
  const cats = el('section', { class: 'categories' }, el('h2', {}, 'By category'),
    categories.length === 0 ? el('p', { class: 'muted' }, 'Nothing open.')
      : el('ul', { class: 'chips' }, ...categories.map(([c, n]) => el('li', { 'data-category': c },
        link('/ui/findings', { ...query, state: 'open', category: c }, c), ' ', el('span', { class: 'num' }, n)))));

  const checks = el('section', { class: 'top-checks' }, el('h2', {}, 'Checks failing on the most nodes'),
    summary.topChecks.length === 0 ? el('p', { class: 'muted' }, 'No check is failing.')
      : table(['Check', 'Title', 'Severity', 'Nodes', 'Findings'], summary.topChecks.map((c) => el('tr', { 'data-check': c.checkId },
        el('td', {}, link('/ui/findings', { ...query, state: 'open', check: c.checkId }, c.checkId)),
        el('td', {}, c.title), el('td', {}, sevBadge(c.severity)), el('td', { class: 'num' }, c.nodes), el('td', { class: 'num' }, c.findings))),
      { id: 'top-checks' }));

  const nodeRows = nodes.items.map((n) => el('tr', { 'data-node': n.name, 'data-demo': n.demo ? 'true' : null, 'data-cluster': n.clusterName },
    every ? el('td', { class: 'cluster' }, n.clusterName) : null,
    el('td', {}, nodeName(n.name, n.clusterName, n.clusterUid), demoBadge(n) ? ' ' : null, demoBadge(n)),
    el('td', {}, nodeStatus(n), whyNoAgent(n) ? el('div', { class: 'muted small why-no-agent' }, whyNoAgent(n)) : null),
    el('td', {}, scoreBadge(n.complianceScore)),
    el('td', { class: 'num' }, link('/ui/findings', { ...query, state: 'open', node: n.name }, String(n.openFindings))),
    el('td', { class: 'num' }, n.failingChecks),
    el('td', {}, n.agentVersion),
    el('td', {}, time(n.lastSeen)),
    el('td', { class: 'learning' }, !n.hostLearning ? el('span', { class: 'muted' }, '—')
      : n.hostLearning.state === 'learning' && n.hostLearning.until ? `until ${n.hostLearning.until.slice(0, 16).replace('T', ' ')} (${until(n.hostLearning.until)})` : n.hostLearning.state)));
  const nodesSection = el('section', { class: 'nodes' }, el('h2', {}, 'Nodes'),
    nodes.items.length === 0 ? el('p', { class: 'muted' }, 'No node is known yet: no agent has connected.')
      : table([...(every ? ['Cluster'] : []), 'Node', 'Status', 'Score', 'Open findings', 'Failing checks', 'Agent', 'Last seen', 'Host learning'], nodeRows, { id: 'nodes-table' }),
    nodes.nextCursor ? el('p', { class: 'muted small' }, 'The first 1000 nodes are shown.') : null);

  // A first run on a machine that is not a Kubernetes node: say what its scan found, not just "nothing failing".
  const skippedNodes = nodes.items.filter((n) => allSkipped(n.results));
  const demoShown = nodes.items.some((n) => n.demo);
  const notices = skippedNodes.length === 0 ? null
    : el('section', { class: 'notices', id: 'not-a-node' }, el('h2', {}, 'Nothing to judge on some nodes'), ...skippedNodes.map((n) => notANodeNotice(n, demoShown)));

  show(el('h1', {}, every ? 'Every cluster' : 'Cluster overview'), picker, notices, cards, el('div', { class: 'two' }, bars, cats), checks, nodesSection);
}

/** Text and select fields of a filter form, showing the filters in force. */
function formFields(current) {
  return {
    input: (name, label, placeholder) => el('label', {}, label,
      el('input', { name, value: current[name] ?? '', placeholder, autocomplete: 'off', spellcheck: 'false' })),
    /** `values` are values or [value, label] pairs; `empty` labels the option that filters nothing; null leaves it out. */
    select: (name, label, values, empty, fallback) => {
      const chosen = current[name] ?? fallback;
      const s = el('select', { name }, empty === null ? null : el('option', { value: '' }, empty),
        ...values.map((v) => {
          const [value, text] = Array.isArray(v) ? v : [v, v];
          return el('option', { value, selected: chosen === value }, text);
        }));
      return el('label', {}, label, s);
    },
  };
}

function filterForm(current) {
  const { input, select } = formFields(current);
  return el('form', { method: 'get', action: '/ui/findings', class: 'filters', id: 'filters' },
    select('scope', 'Scope', SCOPES, 'any'),
    input('node', 'Node', 'node name'),
    input('check', 'Check', 'e.g. cis-4.2.1'),
    select('category', 'Category', CATEGORIES, 'any'),
    select('severity', 'Severity', SEVERITIES, 'any'),
    select('minSeverity', 'At least', SEVERITIES, 'any'),
    select('state', 'State', STATES, 'any'),
    input('q', 'Text', 'subject, title, value'),
    select('sort', 'Order', SORTS, null, 'severity'),
    clusterSelect(current),
    el('button', { type: 'submit' }, 'Filter'),
    link('/ui/findings', {}, 'Clear'));
}

function processFilterForm(current) {
  const { input, select } = formFields(current);
  return el('form', { method: 'get', action: '/ui/processes', class: 'filters', id: 'filters' },
    input('node', 'Node', 'node name'),
    input('namespace', 'Namespace', 'e.g. shop'),
    input('workload', 'Workload', 'e.g. Deployment/web'),
    select('state', 'State', STATES, null, 'open'),
    clusterSelect(current),
    el('button', { type: 'submit' }, 'Filter'),
    link('/ui/processes', {}, 'Clear'));
}

/** The page's filters from its address, for the API. */
function queryFrom(names) {
  const params = new URLSearchParams(location.search);
  /** @type {Record<string, string>} */
  const query = {};
  for (const k of names) {
    const v = params.get(k);
    if (v) query[k] = v;
  }
  return query;
}

async function findingsPage() {
  const query = queryFrom(FILTERS);
  markNav('findings');
  await loadClusters();
  const form = filterForm(query);
  try {
    show(el('h1', {}, 'Findings'), form, el('section', {}, await findingsList(query)));
  } catch (err) {
    show(el('h1', {}, 'Findings'), form, errorBox(err));
  }
}

async function processesPage() {
  const query = queryFrom(PROCESS_FILTERS);
  markNav('processes');
  await loadClusters();
  const form = processFilterForm(query);
  const title = el('h1', {}, 'Unexpected processes');
  try {
    show(title, form, el('section', {}, await processesList(query)));
  } catch (err) {
    show(title, form, errorBox(err));
  }
}

/** AgentDrops fields, as the node page names them. */
const DROP_CAUSES = [['spool', 'spool bounds'], ['rejected', 'refused as invalid'], ['processEventsLost', 'process events'],
  ['execEventsLost', 'exec events'], ['execUnjudged', 'processes not judged'], ['baselineItemsDropped', 'baseline items'], ['baselineKeysEvicted', 'baselines evicted'],
  ['baselineReportDropped', 'left out of baseline reports']];

function dropsCard(drops) {
  const causes = DROP_CAUSES.filter(([k]) => drops[k] > 0).map(([k, label]) => `${label} ${drops[k]}`);
  return el('div', { class: 'card', id: 'node-drops' }, el('h2', {}, 'Agent drops'),
    el('p', { class: drops.total > 0 ? 'big sev-text-medium' : 'big' }, drops.total),
    el('p', { class: 'muted small' }, causes.length > 0 ? causes.join(', ') : 'nothing lost'));
}

/** The exec source and, when it is not eBPF, why: node strings, rendered as text. */
function execSourceText(n) {
  if (!n.execSource) return '';
  const ring = n.execRingLost > 0 ? ` (${n.execRingLost} lost in the ring buffer)` : '';
  if (n.execSource === 'ebpf') return `ebpf${ring}`;
  return el('span', { id: 'node-exec-source' }, el('strong', { class: 'sev-text-medium' }, n.execSource), ring,
    n.execSourceReason ? el('span', { class: 'muted small' }, ` — ${n.execSourceReason}`) : null);
}

/** Processes judged as host processes though their cgroup looked like a container's, and the eBPF batches read. */
function execJudgementText(n) {
  const batches = n.execSource === 'ebpf' ? `; ${n.execBatches} eBPF batches read` : '';
  return el('span', { id: 'node-exec-judged' },
    `${n.execFakeContainer} in a cgroup no runtime vouches for, ${n.execHostNamespace} in the host's mount namespace${batches}`);
}

/** Host documents refused before parsing, and the last one: node strings, rendered as text. */
function documentsRefusedText(r) {
  if (r.count === 0) return el('span', { id: 'node-documents-refused' }, '0');
  return el('span', { id: 'node-documents-refused' }, el('strong', { class: 'sev-text-medium' }, String(r.count)),
    r.lastPath ? el('span', { class: 'muted small' }, ' — last ', el('code', {}, r.lastPath), r.lastReason ? ` (${r.lastReason})` : '') : null);
}

/**
 * What listens on the node (its latest scan): one row per socket with its process and
 * workload. Every string came from the node and is rendered as text.
 */
function exposureSection(x) {
  const title = el('h2', {}, 'Listening');
  if (!x) return el('section', { id: 'node-exposure' }, title, el('p', { class: 'muted' }, 'No listeners reported (an agent that predates them, or exposure.enabled off).'));
  const where = (l) => (l.pod ? `${l.namespace}/${l.pod} (${l.container})` : l.baseline);
  const rows = x.listeners.map((l) => el('tr', { 'data-port': String(l.port), 'data-class': l.addressClass },
    el('td', {}, l.protocol), el('td', {}, el('code', {}, l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`)),
    el('td', { class: l.addressClass === 'public' ? 'sev-text-critical' : '' }, l.addressClass),
    el('td', { class: 'num' }, l.pid ? String(l.pid) : '—'), el('td', {}, l.exe ? el('code', {}, l.exe) : '—'), el('td', {}, where(l) || '—')));
  const notes = [
    `Seen ${time(x.scannedAt)}. Bound, not necessarily reachable: NodePort and hostPort traffic goes through DNAT rules and opens no socket, so it is not here.`,
    x.unowned ? ` ${x.unowned} without a process found.` : '',
    x.walkCut ? ` The walk of process descriptors stopped early (${x.walkCut}).` : '',
    x.listenersDropped ? ` ${x.listenersDropped} more left out by the agent's bound.` : '',
  ].join('');
  const addrs = x.nodeAddresses.map((a) => `${a.address} ${a.addressClass}${a.source === 'node' ? ' (Node ExternalIP)' : ''}`).join(', ');
  return el('section', { id: 'node-exposure' }, title,
    el('p', { class: 'muted small' }, notes), addrs ? el('p', { class: 'muted small', id: 'node-addresses' }, `Node addresses: ${addrs}`) : null,
    rows.length === 0 ? el('p', { class: 'muted' }, 'Nothing listens.') : table(['Proto', 'Bound to', 'Class', 'PID', 'Executable', 'Workload'], rows, { id: 'exposure-table' }));
}

async function nodePage() {
  const name = new URLSearchParams(location.search).get('name') ?? '';
  const state = new URLSearchParams(location.search).get('state') ?? 'open';
  const n = await api(`nodes/${encodeURIComponent(name)}`);
  document.title = `${n.name} · nodeward`;
  const certs = n.certificates.length === 0 ? el('p', { class: 'muted' }, 'No certificates reported.')
    : table(['Certificate', 'Expires'], n.certificates.map((c) => {
      const days = Math.floor((Date.parse(c.notAfter) - Date.now()) / 86400000);
      return el('tr', {}, el('td', {}, el('code', {}, c.path)),
        el('td', { class: days < 7 ? 'sev-text-critical' : days < 30 ? 'sev-text-medium' : '' }, `${c.notAfter.slice(0, 10)} (${days} d)`));
    }));
  const tabs = el('p', { class: 'tabs' }, ...['open', 'suppressed', 'resolved', 'all'].map((s) =>
    s === state ? el('strong', {}, s) : link('/ui/node', { name: n.name, state: s }, s)));
  const list = await findingsList(state === 'all' ? { node: n.name } : { node: n.name, state }, { hideNode: true });
  show(
    el('h1', {}, n.name, ' ', nodeStatus(n), demoBadge(n)),
    allSkipped(n.results) ? el('section', { class: 'notices', id: 'not-a-node' }, notANodeNotice(n, false)) : null,
    el('section', { class: 'cards' },
      el('div', { class: 'card', id: 'node-score' }, el('h2', {}, 'Compliance'), el('p', { class: 'big' }, scoreBadge(n.complianceScore)),
        el('p', { class: 'muted small' }, `${n.scoredChecks.passing} of ${n.scoredChecks.scored} scored checks pass`),
        n.benchmark ? el('p', { class: 'muted benchmark' }, 'judged under ', el('code', {}, n.benchmark)) : null),
      el('div', { class: 'card', id: 'node-open' }, el('h2', {}, 'Open findings'), el('p', { class: 'big' }, n.openFindings),
        el('p', { class: 'muted small' }, `${n.failingChecks} failing checks`)),
      dropsCard(n.agentDrops)),
    el('div', { class: 'two' },
      el('section', {}, el('h2', {}, 'Agent and host'), dl([
        ['Agent', n.source === 'cluster' ? el('span', { id: 'node-no-agent' }, 'no agent has reported from this node', whyNoAgent(n) ? `: ${whyNoAgent(n)}` : '') : 'reporting'],
        ['In the cluster', n.cluster ? `${n.cluster.ready ? 'Ready' : 'not Ready'}; the agent DaemonSet ${n.cluster.agentExpected === null ? 'may or may not run here (not known yet)' : n.cluster.agentExpected ? 'runs here' : 'does not run here'}` : ''],
        ['Agent missing since', n.agentMissing ? time(n.agentMissing.since) : ''],
        ['Latest scan', el('span', { id: 'node-results' }, resultsText(n.results))],
        ['Host learning', learningText(n.hostLearning)],
        ['Agent version', n.agentVersion], ['Kubelet', n.kubeletVersion], ['OS', n.os], ['Kernel', n.kernel],
        ['Architecture', n.arch], ['CPUs', n.cpus || ''], ['Memory', bytes(n.memoryBytes)],
        ['First seen', time(n.firstSeen)], ['Last seen', time(n.lastSeen)], ['Exec source', execSourceText(n)],
        ['Judged as host processes', execJudgementText(n)],
        ['Host documents refused', documentsRefusedText(n.hostDocumentsRefused)],
        ['Spool', `${n.spool.entries} waiting${n.spool.bytes ? ` (${bytes(n.spool.bytes)})` : ''}, ${n.spool.dropped} dropped, ${n.spool.rejected} refused`],
        ['Seen late or in part', `${n.agentDegraded.processEventsCapped} process events rate-limited, ${n.agentDegraded.execRecordsPartial} partial exec records`],
        ['Findings refused (cap)', String(n.findingsRefused)],
        ['Baseline reports refused', String(n.baselineReportsRefused)],
      ])),
      el('section', {}, el('h2', {}, 'Certificates'), certs)),
    exposureSection(n.exposure),
    nodeActions(n),
    el('section', {}, el('h2', {}, 'Findings'), tabs, list));
}

async function findingPage() {
  const id = new URLSearchParams(location.search).get('id') ?? '';
  const [f] = await Promise.all([api(`findings/${encodeURIComponent(id)}`), loadClusters()]);
  // Another cluster's finding: this collector only reads it, so no action (its own collector's are).
  const own = ownRow(f.cluster, f.clusterUid);
  const history = table(['Event', 'When', 'Occurrences', 'Severity', 'Note'], f.history.map((h) => el('tr', { 'data-event': h.event },
    el('td', {}, h.event), el('td', {}, time(h.at), h.lastAt !== h.at ? el('span', { class: 'muted small' }, ' – ', time(h.lastAt)) : null),
    el('td', { class: 'num' }, h.occurrences || ''), el('td', {}, sevBadge(h.severity)), el('td', {}, h.note))), { id: 'history' });
  show(
    el('h1', {}, f.checkId, ' ', sevBadge(f.severity), ' ', stateBadge(f.state)),
    el('p', { class: 'lead' }, f.title),
    dl([
      ...(clusters.length > 1 ? [['Cluster', own ? f.cluster : `${f.cluster} (read only here: its own collector changes it)`]] : []),
      f.scope === 'cluster' ? ['Scope', 'cluster (about API objects; no node)'] : ['Node', nodeName(f.node, f.cluster, f.clusterUid)], ['Subject', el('code', {}, f.subject)],
      ['Command line', cmdline(f) ? el('code', {}, cmdline(f)) : ''], ['Value', f.actual ? el('code', {}, f.actual) : ''],
      ['Expected', f.expected], ['Source', f.sourceFile ? `${f.source} (${f.sourceFile})` : f.source], ['Reason', f.reason],
      ['Benchmark', (f.references || []).join(', ')], ['Scored', f.scored ? 'yes' : 'no'], ['Seen by', f.seen], ['First seen', time(f.firstSeen)],
      ['Last seen', time(f.lastSeen)], ['Occurrences', String(f.count)], ['Resolved', f.resolvedAt ? time(f.resolvedAt) : ''],
      ['Suppressed', f.state === 'suppressed'
        ? `${f.suppressedReason ?? ''} (by ${f.suppressedBy ?? '?'}${f.suppressedUntil ? `, until ${f.suppressedUntil}` : ''})` : ''],
    ]),
    isAdmin() && own ? findingActions(f) : null,
    f.remediation ? el('section', {}, el('h2', {}, 'Remediation'), el('p', { class: 'remediation' }, f.remediation)) : null,
    el('section', {}, el('h2', {}, 'Detail'), el('pre', { class: 'detail' }, JSON.stringify(f.detail, null, 2))),
    el('section', {}, el('h2', {}, 'History'), history));
}

/** What an admin can do with a finding: suppress or unsuppress it; allow its executable. */
function findingActions(f) {
  const redraw = () => findingPage();
  const parts = [];
  if (f.state === 'suppressed') {
    parts.push(el('p', {}, actionButton('unsuppress', 'End the suppression', () => send('POST', `findings/${encodeURIComponent(f.id)}/unsuppress`), redraw)));
  }
  // Suppress (or, when suppressed, change the reason and expiry).
  const reason = el('input', { name: 'reason', id: 'suppress-reason', required: true, maxlength: 1024, placeholder: 'why (kept in the history and the audit log)', autocomplete: 'off' });
  const untilInput = el('input', { name: 'until', id: 'suppress-until', type: 'datetime-local' });
  const submit = el('button', { type: 'submit', id: 'suppress', class: 'action' }, f.state === 'suppressed' ? 'Change the suppression' : 'Suppress');
  const form = el('form', { class: 'filters action-form', id: 'suppress-form' },
    el('label', {}, 'Reason', reason), el('label', {}, 'Until (optional)', untilInput), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const r = /** @type {HTMLInputElement} */ (reason).value.trim();
    const u = /** @type {HTMLInputElement} */ (untilInput).value;
    runAction(submit, async () => {
      if (r === '') throw new Error('A reason is required.');
      const body = { reason: r, ...(u ? { until: new Date(u).toISOString() } : {}) };
      return send('POST', `findings/${encodeURIComponent(f.id)}/suppress`, body);
    }, redraw);
  });
  parts.push(form);

  // Allow the executable of a process finding into its baseline: the contents its findings saw, or any.
  const d = f.detail && typeof f.detail === 'object' ? f.detail : {};
  // The checks whose executable the page offers to allow: GET /ui/session says (ui/routes.ts).
  if (session !== null && session.allowFrom.includes(f.checkId) && f.state !== 'resolved' && typeof d.baseline === 'string' && typeof d.exe === 'string') {
    const sha = d.identity && typeof d.identity.sha256 === 'string' && d.identity.sha256 ? d.identity.sha256 : '';
    const allow = (content) => () => send('POST', 'baselines/allow', { key: d.baseline, executables: [d.exe], content });
    parts.push(el('div', { class: 'allow', id: 'allow' },
      el('p', {}, 'Allow ', el('code', {}, d.exe), ' in the baseline ', el('code', {}, d.baseline),
        sha ? el('span', {}, ' with the content seen (SHA-256 ', el('code', { class: 'digest' }, sha), ')') : ' with the contents its findings saw',
        '. Its findings on every node resolve, and the agents stop reporting it.'),
      el('p', {}, actionButton('allow-seen', 'Allow the contents seen', allow('seen'), redraw), ' ',
        actionButton('allow-any', 'Allow any content at this path', allow('any'), redraw))));
  }
  // Allow the listen of an exposure-new-listener finding into its baseline's listen set.
  const listen = session !== null && session.allowListenFrom.includes(f.checkId) && f.state !== 'resolved' ? listenOfSubject(f.subject) : null;
  if (listen !== null) {
    parts.push(el('div', { class: 'allow', id: 'allow' },
      el('p', {}, 'Allow ', el('code', {}, listen.listen), ' in the listen set of the baseline ', el('code', {}, listen.key),
        '. Its findings on every node resolve, and the agents judge it as allowed. To allow the port on any address of a class: ',
        el('code', {}, `nodeward baseline allow-listen --key ${listen.key} --listen ${listen.listen.split('/')[0]}/<class>:${listen.listen.split(':').pop()}`), '.'),
      el('p', {}, actionButton('allow-listen', 'Allow this listen', () => send('POST', 'baselines/allow-listen', listen), redraw))));
  }
  return el('section', { class: 'actions', id: 'finding-actions' }, el('h2', {}, 'Actions'), ...parts);
}

/**
 * An exposure-new-listener subject, `<baseline key>:<tcp|udp>/<address>:<port>`, split at the
 * listen (a key may hold a colon, `container:<id>`, but never `:tcp/` or `:udp/`); null when it is not one.
 */
function listenOfSubject(subject) {
  const at = Math.max(subject.lastIndexOf(':tcp/'), subject.lastIndexOf(':udp/'));
  return at > 0 ? { key: subject.slice(0, at), listen: subject.slice(at + 1) } : null;
}

/** An admin's delete of a node no agent is connected from: two clicks, the second names the node. */
function nodeActions(n) {
  if (!isAdmin() || n.connected || n.source === 'cluster') return null;
  const confirm = actionButton('delete-node-confirm', `Delete ${n.name} and resolve its findings`, () => send('DELETE', `nodes/${encodeURIComponent(n.name)}`),
    () => location.assign('/ui/'));
  confirm.hidden = true;
  const first = el('button', { type: 'button', id: 'delete-node', class: 'action' }, 'Delete this node…');
  first.addEventListener('click', () => {
    first.hidden = true;
    confirm.hidden = false;
  });
  return el('section', { class: 'actions', id: 'node-actions' }, el('h2', {}, 'Actions'),
    el('p', { class: 'muted small' }, 'For a decommissioned node: its open findings resolve, the baselines only it taught go. An agent that connects again brings it back.'),
    el('p', {}, first, confirm));
}

async function baselinesPage() {
  markNav('baselines');
  const title = el('h1', {}, 'Baselines');
  const row = (b) => el('tr', { 'data-key': b.key, 'data-state': b.state },
    el('td', {}, el('code', {}, b.key)),
    el('td', {}, b.state, b.lockedByName ? el('span', { class: 'muted small' }, ` by ${b.lockedByName}`) : null),
    el('td', { class: 'num' }, b.items.length),
    el('td', { class: 'num' }, b.removed.length),
    el('td', {}, b.chargedTo || '—'),
    el('td', { class: 'num' }, b.version),
    isAdmin() ? el('td', {}, b.state === 'locked'
      ? actionButton(undefined, 'Unlock', () => send('POST', 'baselines/unlock', { key: b.key }), () => baselinesPage())
      : actionButton(undefined, 'Lock', () => send('POST', 'baselines/lock', { key: b.key }), () => baselinesPage())) : null);
  try {
    show(title, el('section', {}, await pagedTable('baselines', {}, {
      head: ['Key', 'State', 'Executables', 'Removed', 'Charged to', 'Version', ...(isAdmin() ? ['Action'] : [])],
      row, ids: { wrap: 'baselines-list', table: 'baselines-table', count: 'baselines-count' },
      noun: ['baseline', 'baselines'], empty: 'No baseline yet: no agent has reported one.',
    })));
  } catch (err) {
    show(title, errorBox(err));
  }
}

async function webhooksPage() {
  markNav('webhooks');
  const title = el('h1', {}, 'Webhooks');
  const redraw = () => webhooksPage();
  const hooks = await api('webhooks');
  const destinations = hooks.items.length === 0 ? el('p', { class: 'muted' }, 'No webhook is configured.')
    : table(['Destination', 'Format', 'Pending', 'Dead letters', 'Dropped', ...(isAdmin() ? ['Action'] : [])], hooks.items.map((h) => el('tr', { 'data-destination': h.name },
      el('td', {}, h.name), el('td', {}, h.format), el('td', { class: 'num' }, h.pending), el('td', { class: 'num' }, h.dead), el('td', { class: 'num' }, h.dropped),
      isAdmin() ? el('td', {}, h.dead > 0 ? actionButton(`retry-all-${h.name}`, 'Retry its dead letters', () => send('POST', 'webhooks/deliveries/retry', { destination: h.name }), redraw) : null) : null)),
    { id: 'webhooks-table' });
  const row = (d) => el('tr', { 'data-id': d.id, 'data-status': d.status },
    el('td', { class: 'num' }, d.id), el('td', {}, d.destination), el('td', {}, d.event),
    el('td', {}, link('/ui/finding', { id: d.findingId }, el('code', {}, d.findingId))),
    el('td', {}, d.status), el('td', { class: 'num' }, d.attempts), el('td', {}, d.lastStatus ?? '—'), el('td', { class: 'small' }, d.lastError),
    el('td', {}, time(d.createdAt)),
    isAdmin() ? el('td', {}, d.status === 'dead' ? actionButton(`retry-${d.id}`, 'Retry', () => send('POST', 'webhooks/deliveries/retry', { ids: [d.id] }), redraw) : null) : null);
  const deliveries = await pagedTable('webhooks/deliveries', { status: 'dead' }, {
    head: ['Id', 'Destination', 'Event', 'Finding', 'Status', 'Tries', 'Last HTTP status', 'Last error', 'Queued', ...(isAdmin() ? ['Action'] : [])],
    row, ids: { wrap: 'deliveries-list', table: 'deliveries-table', count: 'deliveries-count' },
    noun: ['dead letter', 'dead letters'], empty: 'No dead letters.',
  });
  show(title, el('section', {}, el('h2', {}, 'Destinations'), destinations), el('section', {}, el('h2', {}, 'Dead letters'), deliveries));
}

/** The audit log (admin only; the API refuses a reader). Every string in it is shown as text. */
async function auditPage() {
  markNav('audit');
  const query = queryFrom(['actor', 'action', 'target']);
  const { input } = formFields(query);
  const form = el('form', { method: 'get', action: '/ui/audit', class: 'filters', id: 'filters' },
    input('actor', 'Who', 'token name'), input('action', 'Action', 'e.g. finding.suppress'), input('target', 'Target', 'finding id, node, baseline key'),
    el('button', { type: 'submit' }, 'Filter'), link('/ui/audit', {}, 'Clear'));
  const title = el('h1', {}, 'Audit log');
  if (!isAdmin()) {
    show(title, el('p', { class: 'muted' }, 'The audit log is for admins.'));
    return;
  }
  const row = (r) => el('tr', { 'data-action': r.action, 'data-target': r.target },
    el('td', {}, time(r.at)), el('td', {}, r.actor || el('span', { class: 'muted' }, '—')), el('td', {}, r.role),
    el('td', {}, el('code', {}, r.action)), el('td', {}, el('code', {}, r.target)), el('td', { class: 'num' }, r.status),
    el('td', {}, el('code', { class: 'detail' }, JSON.stringify(r.detail))), el('td', { class: 'num' }, r.count), el('td', {}, r.remote));
  try {
    show(title, form, el('section', {}, await pagedTable('audit', query, {
      head: ['When', 'Who', 'Role', 'Action', 'Target', 'Status', 'Detail', 'Count', 'From'],
      row, ids: { wrap: 'audit-list', table: 'audit-table', count: 'audit-count' },
      noun: ['record', 'records'], empty: 'No record matches.',
    })));
  } catch (err) {
    show(title, form, errorBox(err));
  }
}

// ---------------------------------------------------------------------------------------
// Who can: who the cluster's RBAC grants a request to (GET /api/v1/posture/who-can). Read-only.
// Subject, binding, role and rule names come from the cluster's RBAC objects, which anyone who
// may write RBAC shapes: they are text like everything else here.

const WHO_CAN_FIELDS = ['verb', 'resource', 'subresource', 'apiGroup', 'namespace', 'name', 'nonResourceURL'];
/** How a grant reaches the request (the API's forms), in words. */
const GRANT_FORM_WORDS = {
  resourceNames: 'named objects only', subresource: 'subresource', roleBindingToClusterRole: 'RoleBinding to ClusterRole',
  serviceAccountGroup: 'ServiceAccount group', nonResourceURL: 'non-resource path',
};

/** `Kind namespace/name`, or `Kind name` when cluster-scoped. */
function refText(r) {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

function howText(g) {
  return g.forms.map((f) => (f === 'wildcard' ? `* in ${g.wildcards.join(', ')}` : GRANT_FORM_WORDS[f] ?? f)).join('; ');
}

/** A rule as its non-empty lists: `verbs: get, list · resources: secrets`. */
function ruleText(rule) {
  return ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs']
    .filter((k) => rule[k].length > 0)
    .map((k) => `${k}: ${rule[k].map((v) => (v === '' ? '""' : v)).join(', ')}`).join(' · ');
}

function postureStatusText(s) {
  if (!s.enabled) return 'Cluster posture is off: this collector does not watch the Kubernetes API, so it cannot say who may do what.';
  const kinds = s.kinds.map((k) => `${k.objects} ${k.kind}${k.objects === 1 ? '' : 's'}${k.refused ? ` (${k.refused} refused)` : ''}${k.synced ? '' : ' (listing)'}`).join(', ');
  return s.synced ? `Answered from ${kinds}.` : `Not synced yet: ${kinds}.`;
}

async function whoCanPage() {
  markNav('who-can');
  const query = queryFrom(WHO_CAN_FIELDS);
  const { input } = formFields(query);
  const form = el('form', { method: 'get', action: '/ui/who-can', class: 'filters', id: 'who-can-form' },
    input('verb', 'Verb', 'get, list, create, escalate…'), input('resource', 'Resource', 'e.g. secrets'),
    input('subresource', 'Subresource', 'e.g. exec'), input('apiGroup', 'API group', 'empty: core'),
    input('namespace', 'Namespace', 'empty: cluster-wide'), input('name', 'Name', 'one object'),
    input('nonResourceURL', 'Non-resource path', 'e.g. /metrics'),
    el('button', { type: 'submit' }, 'Ask'), link('/ui/who-can', {}, 'Clear'));
  const title = el('h1', {}, 'Who can');
  const status = await api('posture/status').then((s) => el('p', { class: 'muted small', id: 'posture-status' }, postureStatusText(s)));
  if (Object.keys(query).length === 0) {
    show(title, status, form, el('p', { class: 'muted' }, 'Name a verb and a resource (or a non-resource path) to see who the cluster\'s RBAC grants it to.'));
    return;
  }
  let answer;
  try {
    answer = await api('posture/who-can', query);
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) throw err;
    show(title, status, form, errorBox(err));
    return;
  }
  const rows = answer.subjects.flatMap((s) => s.grants.map((g) => el('tr', { 'data-subject': `${s.subject.kind}:${s.subject.namespace ? `${s.subject.namespace}/` : ''}${s.subject.name}` },
    el('td', { class: 'subject' }, el('strong', {}, s.subject.kind), ' ', el('code', {}, s.subject.namespace ? `${s.subject.namespace}/${s.subject.name}` : s.subject.name),
      s.means ? el('div', { class: 'muted small' }, s.means) : null),
    el('td', { class: 'binding' }, el('code', {}, refText(g.binding))),
    el('td', { class: 'role' }, el('code', {}, `${g.role.kind} ${g.role.name}`)),
    el('td', { class: 'rule' }, `#${g.ruleIndex} `, el('code', {}, ruleText(g.rule))),
    el('td', { class: 'scope' }, g.namespace ? `namespace ${g.namespace}` : 'cluster-wide'),
    el('td', { class: 'how' }, howText(g)))));
  const grants = rows.length;
  const count = el('p', { class: 'count', id: 'who-can-count' }, grants === 0 ? 'RBAC grants this to no subject.'
    : `${answer.subjects.length} ${answer.subjects.length === 1 ? 'subject' : 'subjects'}, ${grants} ${grants === 1 ? 'grant' : 'grants'}`);
  const results = grants === 0 ? null
    : table(['Subject', 'Binding', 'Role', 'Rule', 'Scope', 'How'], rows, { class: 'who-can', id: 'who-can-table' });
  const caveats = el('section', { class: 'notices', id: 'who-can-caveats' }, el('h2', {}, 'What RBAC cannot see'),
    el('ul', {}, ...answer.caveats.map((c) => el('li', { 'data-caveat': c.id }, c.text))));
  show(title, status, form, el('section', {}, count, results), caveats);
}

function loginPage() {
  const error = new URLSearchParams(location.search).get('error');
  const box = document.getElementById('login-error');
  if (!box || !error) return;
  box.textContent = error === 'busy' ? 'Too many failed attempts; wait a minute and try again.'
    : error === 'origin' ? 'That login did not come from this page; log in here.' : 'That token was not accepted.';
  box.hidden = false;
}

const PAGES = {
  overview, findings: findingsPage, processes: processesPage, node: nodePage, finding: findingPage, login: loginPage,
  baselines: baselinesPage, webhooks: webhooksPage, audit: auditPage, 'who-can': whoCanPage,
};

async function run() {
  const page = document.body.getAttribute('data-page') ?? '';
  const draw = PAGES[page];
  if (!draw) return;
  try {
    if (page !== 'login') await loadSession();
    await draw();
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) return;
    show(errorBox(err));
  }
  document.body.setAttribute('data-ready', 'true');
}

run();
