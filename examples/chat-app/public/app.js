// The chat app's page: plain DOM, no framework, no build step. Everything the user typed is
// rendered with textContent, never as HTML.

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

const state = {
  user: null,
  /** The open conversation's id; null: the user's default conversation (created on first send). */
  conversationId: null,
  /** The sidebar's conversations (not archived), as the server sent them. */
  conversations: [],
  nextCursor: null,
  loadingOlder: false,
  historyLoaded: false,
  auditCursor: null,
};

/** A JSON API call; throws an Error with `.status` and the server's message on failure. */
async function api(path, options = {}) {
  const init = { credentials: 'same-origin', headers: {} };
  if (options.body !== undefined) {
    init.method = options.method ?? 'POST';
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message ?? `Request failed (${response.status}).`);
    error.status = response.status;
    if (response.status === 401 && path !== '/api/login') showLogin();
    throw error;
  }
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const formatTime = (iso) => timeFormat.format(new Date(iso));
const preciseFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

// ---- views -------------------------------------------------------------------------------

function show(view) {
  $('boot-status').hidden = true;
  for (const name of ['login', 'chat', 'admin']) $(`view-${name}`).hidden = name !== view;
  $('nav').hidden = view === 'login';
  for (const name of ['chat', 'admin']) {
    if (name === view) $(`nav-${name}`).setAttribute('aria-current', 'page');
    else $(`nav-${name}`).removeAttribute('aria-current');
  }
}

function showLogin() {
  state.user = null;
  state.historyLoaded = false;
  state.nextCursor = null;
  state.conversationId = null;
  state.conversations = [];
  $('conv-list').replaceChildren();
  $('conv-archived').replaceChildren();
  $('messages').replaceChildren();
  $('search-results').replaceChildren();
  $('search-status').textContent = '';
  $('audit-rows').replaceChildren();
  show('login');
  $('login-username').focus();
}

function signedIn(user) {
  state.user = user;
  $('whoami').textContent = `${user.displayName} (${user.role})`;
  $('nav-admin').hidden = user.role !== 'admin';
  route();
}

/** Shows the view named by the location hash (#chat, #admin). */
function route() {
  if (state.user === null) return;
  if (location.hash === '#admin' && state.user.role === 'admin') {
    show('admin');
    loadAdmin().catch(showError);
  } else {
    show('chat');
    if (!state.historyLoaded) openFirstConversation().catch(showError);
  }
}

/** Reports a failed background load where the user is looking (401s already went to sign-in). */
function showError(error) {
  if (error.status === 401) return;
  const target = state.user !== null && !$('view-admin').hidden ? $('chart-totals') : $('composer-error');
  target.textContent = error.message;
}

// ---- login / logout ----------------------------------------------------------------------

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = event.submitter ?? $('login-form').querySelector('button');
  $('login-error').textContent = '';
  button.disabled = true;
  try {
    const { user } = await api('/api/login', {
      body: { username: $('login-username').value, password: $('login-password').value },
    });
    $('login-password').value = '';
    signedIn(user);
  } catch (error) {
    $('login-error').textContent = error.message;
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  await api('/api/logout', { body: {} }).catch(() => {});
  history.replaceState(null, '', location.pathname);
  showLogin();
});

window.addEventListener('hashchange', route);

// ---- chat history with infinite scroll backwards -----------------------------------------

function messageItem(message, pending = false) {
  const other = message.role === 'user' && message.author !== undefined && message.author !== 'you';
  const item = element(
    'li',
    `message message--${message.role}${other ? ' message--other' : ''}${pending ? ' message--pending' : ''}`,
  );
  item.dataset.id = message.id ?? '';
  const who = message.role !== 'user' ? 'Assistant' : other ? message.author : 'You';
  item.append(
    element('div', 'message__meta', message.createdAt ? `${who} · ${formatTime(message.createdAt)}` : who),
    ...(message.tools ?? []).map(toolCard),
    element('div', 'message__body', message.content),
  );
  if (!pending && message.id) {
    const actions = messageActions(item, message, other);
    if (actions.children.length > 0) item.append(actions);
  }
  return item;
}

/** A tool the assistant called, collapsed to one line; opens to its input and result (as JSON text). */
function toolCard(tool) {
  const card = element('details', `tool-card${tool.isError ? ' tool-card--error' : ''}`);
  const args = Object.values(tool.input ?? {})
    .map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))
    .join(', ');
  card.append(
    element(
      'summary',
      'tool-card__summary',
      `Tool: ${tool.toolName}(${args.slice(0, 60)}) · ${tool.isError ? 'failed' : 'ok'}`,
    ),
    element('div', 'tool-card__label', 'Input'),
    element('pre', 'tool-card__json', JSON.stringify(tool.input, null, 2)),
    element('div', 'tool-card__label', tool.isError ? 'Error' : 'Result'),
    element('pre', 'tool-card__json', JSON.stringify(tool.output, null, 2)),
  );
  return card;
}

function smallButton(text, label, onClick) {
  const button = element('button', 'button button--quiet button--small', text);
  button.type = 'button';
  button.setAttribute('aria-label', label);
  button.addEventListener('click', onClick);
  return button;
}

/** Under a message of a named conversation: `< 2/3 >` between its versions, Edit, Regenerate. */
function messageActions(item, message, other) {
  const bar = element('div', 'message__actions');
  const current = state.conversations.find((c) => c.id === state.conversationId);
  if (current === undefined || message.conversationId !== current.id) return bar;
  const { branch } = message;
  if (branch && branch.count > 1) {
    const nav = element('span', 'branch');
    nav.setAttribute('role', 'group');
    nav.setAttribute('aria-label', `Version ${branch.index + 1} of ${branch.count}`);
    const previous = smallButton('<', 'Previous version', () =>
      switchBranch(branch.siblingIds[branch.index - 1]),
    );
    const next = smallButton('>', 'Next version', () => switchBranch(branch.siblingIds[branch.index + 1]));
    previous.disabled = branch.index === 0;
    next.disabled = branch.index === branch.count - 1;
    nav.append(previous, element('span', 'branch__count', `${branch.index + 1}/${branch.count}`), next);
    bar.append(nav);
  }
  if (message.role === 'user' && !other && current.role !== 'viewer') {
    bar.append(smallButton('Edit', 'Edit this question', () => startEdit(item, message)));
  }
  if (message.role === 'assistant' && current.role === 'owner') {
    bar.append(smallButton('Regenerate', 'Regenerate this answer', () => regenerate(message)));
  }
  return bar;
}

async function afterTreeChange(request) {
  $('composer-error').textContent = '';
  try {
    await request;
    await loadHistory();
    loadConversations().catch(showError);
  } catch (error) {
    showError(error);
  }
}

function switchBranch(messageId) {
  return afterTreeChange(api(`/api/conversations/${state.conversationId}/branch`, { body: { messageId } }));
}

function regenerate(message) {
  return afterTreeChange(
    api(`/api/messages/${message.id}/regenerate`, { body: { conversationId: state.conversationId } }),
  );
}

/** Swaps the message's text for a small form; saving writes a new version (a sibling) and its answer. */
function startEdit(item, message) {
  const form = element('form', 'message__edit');
  const input = element('textarea');
  input.value = message.content;
  input.rows = 3;
  input.setAttribute('aria-label', 'Edited question');
  const save = element('button', 'button button--small', 'Save and ask');
  save.type = 'submit';
  const cancel = smallButton('Cancel', 'Cancel editing', () => form.replaceWith(body));
  const body = item.querySelector('.message__body');
  form.append(input, save, cancel);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim() === '') return;
    save.disabled = true;
    afterTreeChange(
      api(`/api/messages/${message.id}/edit`, {
        body: { conversationId: state.conversationId, content: input.value },
      }),
    );
  });
  body.replaceWith(form);
  input.focus();
}

function updateHistoryMarkers() {
  const empty = $('messages').children.length === 0;
  $('chat-empty').hidden = !empty;
  $('history-top').hidden = empty;
  $('history-top').textContent =
    state.nextCursor === null ? 'Start of your history' : 'Scroll up for older messages';
}

async function fetchPage(cursor) {
  const params = new URLSearchParams();
  if (state.conversationId !== null) params.set('conversation', state.conversationId);
  if (cursor !== null) params.set('cursor', cursor);
  const query = params.size === 0 ? '' : `?${params}`;
  return api(`/api/messages${query}`);
}

/** The newest page, shown oldest-to-newest with the newest at the bottom, in view. */
async function loadHistory() {
  state.historyLoaded = true;
  state.nextCursor = null;
  const opened = state.conversationId;
  const page = await fetchPage(null);
  if (opened !== state.conversationId) return; // another conversation was opened meanwhile
  state.nextCursor = page.nextCursor;
  $('messages').replaceChildren(...page.items.toReversed().map((message) => messageItem(message)));
  updateHistoryMarkers();
  const scroll = $('chat-scroll');
  scroll.scrollTop = scroll.scrollHeight;
  maybeLoadOlder();
}

/** The next older page, inserted above without moving what the reader is looking at. */
async function loadOlder() {
  if (state.loadingOlder || state.nextCursor === null) return;
  state.loadingOlder = true;
  $('history-top').textContent = 'Loading older messages…';
  try {
    const opened = state.conversationId;
    const page = await fetchPage(state.nextCursor);
    if (opened !== state.conversationId) return;
    const scroll = $('chat-scroll');
    const fromBottom = scroll.scrollHeight - scroll.scrollTop;
    $('messages').prepend(...page.items.toReversed().map((message) => messageItem(message)));
    scroll.scrollTop = scroll.scrollHeight - fromBottom;
    state.nextCursor = page.nextCursor;
  } finally {
    state.loadingOlder = false;
    updateHistoryMarkers();
  }
  maybeLoadOlder();
}

/** Loads more while the top of the history is (still) in view, e.g. on a tall screen. */
function maybeLoadOlder() {
  if (state.nextCursor !== null && $('chat-scroll').scrollTop < 150) loadOlder().catch(showError);
}

new IntersectionObserver(
  (entries) => {
    if (entries.some((entry) => entry.isIntersecting) && state.historyLoaded) loadOlder().catch(showError);
  },
  { root: $('chat-scroll'), rootMargin: '150px 0px 0px 0px' },
).observe($('history-top'));

// ---- conversations sidebar: open, new, rename, archive -----------------------------------

const conversationTitle = (c) => c.title ?? (c.isDefault ? 'My chat' : 'New conversation');

/** Loads the sidebar (active and archived conversations) and marks the open one. */
async function loadConversations() {
  const [active, archived] = await Promise.all([
    api('/api/conversations'),
    api('/api/conversations?archived=only'),
  ]);
  state.conversations = active.items;
  $('conv-list').replaceChildren(...active.items.map((c) => conversationItem(c)));
  $('conv-archived').replaceChildren(...archived.items.map((c) => archivedItem(c)));
  $('conv-archived-box').hidden = archived.items.length === 0;
  renderChatHead();
}

function conversationItem(c) {
  const item = element('li', 'conv');
  item.dataset.id = c.id;
  const open = element('button', 'conv__open');
  open.type = 'button';
  open.append(element('span', 'conv__title', conversationTitle(c)));
  if (c.sharedBy) open.append(element('span', 'conv__meta', `shared by ${c.sharedBy}`));
  if (c.id === state.conversationId) open.setAttribute('aria-current', 'true');
  open.addEventListener('click', () => openConversation(c.id).catch(showError));
  item.append(open);
  if (c.role !== 'viewer') {
    const actions = element('span', 'conv__actions');
    const rename = element('button', 'button button--quiet button--small', 'Rename');
    rename.type = 'button';
    rename.setAttribute('aria-label', `Rename ${conversationTitle(c)}`);
    rename.addEventListener('click', () => startRename(item, c));
    const archive = element('button', 'button button--quiet button--small', 'Archive');
    archive.type = 'button';
    archive.setAttribute('aria-label', `Archive ${conversationTitle(c)}`);
    archive.addEventListener('click', () => setArchived(c, true).catch(conversationError));
    actions.append(rename, archive);
    item.append(actions);
  }
  return item;
}

function archivedItem(c) {
  const item = element('li', 'conv conv--archived');
  item.dataset.id = c.id;
  item.append(element('span', 'conv__title', conversationTitle(c)));
  const restore = element('button', 'button button--quiet button--small', 'Restore');
  restore.type = 'button';
  restore.setAttribute('aria-label', `Restore ${conversationTitle(c)}`);
  restore.addEventListener('click', () => setArchived(c, false).catch(conversationError));
  item.append(restore);
  return item;
}

function conversationError(error) {
  if (error.status !== 401) $('conv-error').textContent = error.message;
}

/** Swaps the item for a small form; Enter saves, Escape cancels. */
function startRename(item, c) {
  const form = element('form', 'conv__rename');
  const input = element('input');
  input.value = c.title ?? '';
  input.maxLength = 200;
  input.setAttribute('aria-label', 'New title');
  const save = element('button', 'button button--small', 'Save');
  save.type = 'submit';
  form.append(input, save);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      await api(`/api/conversations/${c.id}`, {
        method: 'PATCH',
        body: { title: input.value, expectedVersion: c.version },
      });
      $('conv-error').textContent = '';
      await loadConversations();
    } catch (error) {
      conversationError(error);
      save.disabled = false;
    }
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') loadConversations().catch(showError);
  });
  item.replaceChildren(form);
  input.focus();
  input.select();
}

async function setArchived(c, archived) {
  await api(`/api/conversations/${c.id}`, { method: 'PATCH', body: { archived } });
  $('conv-error').textContent = '';
  await loadConversations();
  if (archived && c.id === state.conversationId) await openFirstConversation();
  else if (!archived) await openConversation(c.id);
}

async function openConversation(id) {
  state.conversationId = id;
  $('messages').replaceChildren();
  $('composer-error').textContent = '';
  for (const button of document.querySelectorAll('#conv-list .conv__open')) {
    if (button.parentElement.dataset.id === id) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  renderChatHead();
  await Promise.all([loadHistory(), loadPeople()]);
}

/** After sign-in or archiving the open one: the most recent conversation, or the default one. */
async function openFirstConversation() {
  await loadConversations();
  const first = state.conversations.find((c) => c.isDefault) ?? state.conversations[0];
  if (first === undefined) {
    state.conversationId = null;
    renderChatHead();
    await loadHistory();
  } else {
    await openConversation(first.id);
  }
}

$('conv-new').addEventListener('click', async () => {
  try {
    const { conversation } = await api('/api/conversations', { body: {} });
    await loadConversations();
    await openConversation(conversation.id);
    $('composer-input').focus();
  } catch (error) {
    conversationError(error);
  }
});

function renderChatHead() {
  const current = state.conversations.find((c) => c.id === state.conversationId);
  $('chat-title').textContent = current === undefined ? 'My chat' : conversationTitle(current);
  const viewer = current?.role === 'viewer';
  $('composer-input').disabled = viewer;
  $('composer-send').disabled = viewer;
  $('composer-input').placeholder = viewer
    ? 'You can read this conversation but not write in it.'
    : current?.sharedBy
      ? `Reply to ${current.sharedBy}…`
      : 'Ask a question…';
}

/** "With Demo Nurse (member)" under the title of a conversation with more than one person. */
async function loadPeople() {
  $('chat-people').textContent = '';
  if (state.conversationId === null) return;
  const opened = state.conversationId;
  const { items } = await api(`/api/conversations/${opened}/participants`);
  if (opened !== state.conversationId || items.length < 2) return;
  const others = items.filter((p) => !p.you).map((p) => `${p.name} (${p.role})`);
  $('chat-people').textContent = `Shared: you and ${others.join(', ')}`;
}

// ---- sending -----------------------------------------------------------------------------

async function send() {
  const input = $('composer-input');
  const content = input.value;
  if (content.trim() === '') return;
  $('composer-error').textContent = '';
  $('composer-send').disabled = true;
  const list = $('messages');
  const question = messageItem({ role: 'user', content }, true);
  const current = state.conversations.find((c) => c.id === state.conversationId);
  const thinking = messageItem(
    { role: 'assistant', content: current?.sharedBy ? 'Sending…' : 'Thinking…' },
    true,
  );
  list.append(question, thinking);
  updateHistoryMarkers();
  const scroll = $('chat-scroll');
  scroll.scrollTop = scroll.scrollHeight;
  try {
    const body = { content };
    if (state.conversationId !== null) body.conversationId = state.conversationId;
    const { messages } = await api('/api/messages', { body });
    question.replaceWith(messageItem(messages[0]));
    // In a conversation shared with the user, their message is a reply: no assistant answer.
    if (messages[1] === undefined) thinking.remove();
    else thinking.replaceWith(messageItem(messages[1]));
    input.value = '';
    if (state.conversationId === null) state.conversationId = messages[0].conversationId;
    loadConversations().catch(showError);
  } catch (error) {
    question.remove();
    thinking.remove();
    $('composer-error').textContent = error.message;
  } finally {
    $('composer-send').disabled = false;
    updateHistoryMarkers();
    scroll.scrollTop = scroll.scrollHeight;
    input.focus();
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});

$('composer-input').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});

// ---- search ------------------------------------------------------------------------------

$('search-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const query = $('search-input').value.trim();
  const results = $('search-results');
  results.replaceChildren();
  if (query === '') {
    $('search-status').textContent = 'Type something to search for.';
    return;
  }
  $('search-status').textContent = 'Searching…';
  try {
    const { items } = await api(`/api/search?q=${encodeURIComponent(query)}`);
    $('search-status').textContent =
      items.length === 0
        ? 'No messages match.'
        : `${items.length} message${items.length === 1 ? '' : 's'} found`;
    for (const hit of items) {
      const item = element('li');
      const who = hit.role !== 'user' ? 'Assistant' : hit.author === 'you' ? 'You' : hit.author;
      const text = element('div', 'hit__text');
      for (const part of hit.snippet) text.append(part.hit ? element('mark', '', part.text) : part.text);
      item.append(element('div', 'message__meta', `${who} · ${formatTime(hit.createdAt)}`), text);
      results.append(item);
    }
  } catch (error) {
    $('search-status').textContent = error.message;
  }
});

// ---- admin: analytics chart and audit trail ----------------------------------------------

async function loadAdmin() {
  state.auditCursor = null;
  $('audit-rows').replaceChildren();
  await Promise.all([loadSummary(), loadDashboard(), loadUsage(), loadAudit()]);
}

async function loadSummary() {
  const summary = await api('/api/admin/summary?days=7');
  $('chart-totals').textContent = `${summary.totalEvents} events from ${summary.uniqueUsers} user${
    summary.uniqueUsers === 1 ? '' : 's'
  }`;
  $('chart').replaceChildren(barChart(summary.byEvent.toSorted((a, b) => b.count - a.count)));
}

/** A horizontal bar per event name, drawn as inline SVG. */
function barChart(rows) {
  const labelWidth = 170;
  const barArea = 420;
  const rowHeight = 30;
  const width = labelWidth + barArea + 60;
  const height = Math.max(rows.length, 1) * rowHeight + 10;
  const max = Math.max(1, ...rows.map((row) => row.count));
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute(
    'aria-label',
    rows.length === 0
      ? 'No events yet'
      : `Events by name: ${rows.map((row) => `${row.eventName} ${row.count}`).join(', ')}`,
  );
  const svgElement = (tag, attributes, text) => {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  if (rows.length === 0) {
    svg.append(svgElement('text', { x: 0, y: 20 }, 'No events in this period yet.'));
    return svg;
  }
  rows.forEach((row, index) => {
    const y = index * rowHeight + 5;
    const barWidth = Math.max(2, (row.count / max) * barArea);
    const kind = ['auth', 'chat'].includes(row.eventType) ? row.eventType : 'other';
    const bar = svgElement('rect', {
      x: labelWidth,
      y,
      width: barWidth,
      height: rowHeight - 8,
      rx: 3,
      class: `bar--${kind}`,
    });
    bar.append(svgElement('title', {}, `${row.eventName}: ${row.count} events, ${row.uniqueUsers} users`));
    svg.append(
      svgElement('text', { x: labelWidth - 8, y: y + 17, 'text-anchor': 'end' }, row.eventName),
      bar,
      svgElement('text', { x: labelWidth + barWidth + 6, y: y + 17 }, String(row.count)),
    );
  });
  return svg;
}

// ---- admin: usage dashboard (inline SVG, nothing loaded from the network) ------------------

async function loadDashboard() {
  const data = await api('/api/admin/dashboard');
  const figure = (id, caption, svg) => {
    const node = element('figure');
    node.id = id;
    node.append(element('figcaption', '', caption), svg);
    return node;
  };
  $('dashboard').replaceChildren(
    figure(
      'dash-tokens',
      'Tokens and cost per day',
      columnChart(
        data.days.map((d) => ({
          label: d.day.slice(5),
          value: d.tokens,
          note: `${d.tokens} tokens, $${d.costUsd}`,
        })),
        'Tokens per day',
      ),
    ),
    figure(
      'dash-latency',
      'p95 answer latency (ms)',
      lineChart(
        data.days.map((d) => ({ label: d.day.slice(5), value: d.p95LatencyMs })),
        'p95 answer latency per day',
      ),
    ),
    figure(
      'dash-funnel',
      'Funnel: login → chat → search (within a day)',
      barChart(
        data.funnel.map((s) => ({
          eventName: s.eventName,
          eventType: 'chat',
          count: s.count,
          uniqueUsers: s.count,
        })),
      ),
    ),
    figure('dash-retention', 'Weekly retention (login → chat)', retentionGrid(data.retention)),
  );
}

function svgNode(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function chartFrame(width, height, label) {
  const svg = svgNode('svg', {
    class: 'chart',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': label,
  });
  return svg;
}

/** One column per point, with its value on top. */
function columnChart(points, label) {
  const width = 650;
  const height = 180;
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = width / Math.max(points.length, 1);
  const svg = chartFrame(width, height, `${label}: ${points.map((p) => `${p.label} ${p.value}`).join(', ')}`);
  points.forEach((p, i) => {
    const h = (p.value / max) * (height - 40);
    const bar = svgNode('rect', {
      x: i * step + 4,
      y: height - 20 - h,
      width: step - 8,
      height: Math.max(h, 1),
      class: 'bar--chat',
    });
    bar.append(svgNode('title', {}, p.note ?? `${p.label}: ${p.value}`));
    svg.append(
      bar,
      svgNode('text', { x: i * step + step / 2, y: height - 4, 'text-anchor': 'middle' }, p.label),
    );
  });
  return svg;
}

/** A line through the points that have a value. */
function lineChart(points, label) {
  const width = 650;
  const height = 180;
  const values = points.filter((p) => p.value !== null);
  const max = Math.max(1, ...values.map((p) => p.value));
  const step = width / Math.max(points.length, 1);
  const svg = chartFrame(
    width,
    height,
    `${label}: ${values.length === 0 ? 'no answers yet' : values.map((p) => `${p.label} ${Math.round(p.value)}`).join(', ')}`,
  );
  const coords = [];
  points.forEach((p, i) => {
    svg.append(svgNode('text', { x: i * step + step / 2, y: height - 4, 'text-anchor': 'middle' }, p.label));
    if (p.value === null) return;
    const x = i * step + step / 2;
    const y = height - 20 - (p.value / max) * (height - 40);
    coords.push(`${x},${y}`);
    const dot = svgNode('circle', { cx: x, cy: y, r: 3, class: 'dot' });
    dot.append(svgNode('title', {}, `${p.label}: ${Math.round(p.value)} ms`));
    svg.append(dot);
  });
  if (coords.length > 1) svg.prepend(svgNode('polyline', { points: coords.join(' '), class: 'line' }));
  return svg;
}

/** Cohorts as rows, weeks since as columns, shaded by the share that came back. */
function retentionGrid(cohorts) {
  const cell = 34;
  const left = 110;
  const columns = Math.max(1, ...cohorts.map((c) => c.returned.length));
  const width = left + columns * cell + 10;
  const height = cohorts.length * cell + 30;
  const svg = chartFrame(
    width,
    height,
    `Weekly retention: ${cohorts.map((c) => `${c.week} ${c.users} users, returned ${c.returned.join('/')}`).join('; ')}`,
  );
  for (let i = 0; i < columns; i += 1) {
    svg.append(svgNode('text', { x: left + i * cell + cell / 2, y: 14, 'text-anchor': 'middle' }, `W${i}`));
  }
  cohorts.forEach((c, row) => {
    const y = 22 + row * cell;
    svg.append(
      svgNode('text', { x: left - 8, y: y + cell / 2 + 4, 'text-anchor': 'end' }, `${c.week} (${c.users})`),
    );
    c.returned.forEach((n, i) => {
      const share = c.users === 0 ? 0 : n / c.users;
      const rect = svgNode('rect', {
        x: left + i * cell,
        y,
        width: cell - 2,
        height: cell - 2,
        class: 'bar--chat',
        'fill-opacity': (0.1 + 0.9 * share).toFixed(2),
      });
      rect.append(svgNode('title', {}, `${c.week}, week ${i}: ${n} of ${c.users}`));
      svg.append(rect);
    });
  });
  return svg;
}

// ---- admin: usage ledger (tokens and cost per day, by model) -------------------------------

/** Sums exact decimal strings (e.g. '0.000312') without floating point: BigInt at 12 decimals. */
function sumDecimals(values) {
  const scale = 12;
  let total = 0n;
  for (const value of values) {
    const [whole, fraction = ''] = value.split('.');
    total += BigInt(whole) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0').slice(0, scale));
  }
  const text = total.toString().padStart(scale + 1, '0');
  return `${text.slice(0, -scale)}.${text.slice(-scale)}`;
}

/** '0.001234000000' -> '0.001234': at most 6 decimals, for labels (titles keep the exact value). */
const shortMoney = (value) => value.replace(/(\.\d{2,6}?)0*$/, '$1').replace(/(\.\d{6})\d+$/, '$1');

function moneyText(costs) {
  if (costs.length === 0) return '$0';
  return costs
    .map((c) => (c.currency === 'USD' ? `$${shortMoney(c.amount)}` : `${shortMoney(c.amount)} ${c.currency}`))
    .join(' + ');
}

async function loadUsage() {
  const data = await api('/api/admin/usage?days=14');
  const calls = data.days.reduce((sum, d) => sum + d.calls, 0);
  const input = data.days.reduce((sum, d) => sum + d.inputTokens, 0);
  const output = data.days.reduce((sum, d) => sum + d.outputTokens, 0);
  const currencies = [...new Set(data.days.flatMap((d) => d.costs.map((c) => c.currency)))];
  const totals = currencies.map((currency) => ({
    currency,
    amount: sumDecimals(
      data.days.flatMap((d) => d.costs.filter((c) => c.currency === currency).map((c) => c.amount)),
    ),
  }));
  $('usage-totals').textContent =
    `${calls} answers, ${input + output} tokens (${input} in, ${output} out), ${moneyText(totals)}`;
  $('usage-chart').replaceChildren(
    element('figcaption', '', 'Tokens per day (input and output), cost on hover'),
    usageChart(data.days),
  );
  $('usage-models').replaceChildren(
    ...data.models.map((m) => {
      const row = element('tr');
      const cost = m.cost === null ? '' : moneyText([{ currency: m.currency, amount: m.cost }]);
      for (const text of [m.model, m.calls, m.inputTokens, m.outputTokens, cost])
        row.append(element('td', '', String(text)));
      return row;
    }),
  );
}

/** Stacked columns: input tokens below, output tokens above, each day's cost in its tooltip and label. */
function usageChart(days) {
  const width = 650;
  const height = 200;
  const max = Math.max(1, ...days.map((d) => d.inputTokens + d.outputTokens));
  const step = width / Math.max(days.length, 1);
  const scale = (tokens) => (tokens / max) * (height - 50);
  const svg = chartFrame(
    width,
    height,
    `Usage per day: ${days.map((d) => `${d.day.slice(5)} ${d.inputTokens + d.outputTokens} tokens ${moneyText(d.costs)}`).join(', ')}`,
  );
  days.forEach((d, i) => {
    const x = i * step + 4;
    const inH = scale(d.inputTokens);
    const outH = scale(d.outputTokens);
    const note = `${d.day}: ${d.calls} answers, ${d.inputTokens} input + ${d.outputTokens} output tokens, ${d.costs.map((c) => `${c.amount} ${c.currency}`).join(' + ') || 'no cost'}`;
    const input = svgNode('rect', {
      x,
      y: height - 20 - inH,
      width: step - 8,
      height: Math.max(inH, d.calls > 0 ? 1 : 0),
      class: 'bar--input',
    });
    const output = svgNode('rect', {
      x,
      y: height - 20 - inH - outH,
      width: step - 8,
      height: outH,
      class: 'bar--output',
    });
    input.append(svgNode('title', {}, note));
    output.append(svgNode('title', {}, note));
    svg.append(
      input,
      output,
      svgNode('text', { x: i * step + step / 2, y: height - 4, 'text-anchor': 'middle' }, d.day.slice(5)),
    );
    if (d.calls > 0) {
      svg.append(
        svgNode(
          'text',
          {
            x: i * step + step / 2,
            y: height - 26 - inH - outH,
            'text-anchor': 'middle',
            class: 'chart__note',
          },
          moneyText(d.costs),
        ),
      );
    }
  });
  return svg;
}

/** Long UUIDs shortened to their first 8 characters (the full value is in the cell's title). */
const shortIds = (text) =>
  text.replace(/\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '$1…');

async function loadAudit() {
  const query = state.auditCursor === null ? '' : `?cursor=${encodeURIComponent(state.auditCursor)}`;
  const page = await api(`/api/admin/audit${query}`);
  for (const entry of page.items) {
    const row = element('tr');
    const cells = [
      preciseFormat.format(new Date(entry.occurredAt)),
      entry.action,
      entry.outcome,
      entry.actor,
      entry.resource,
      entry.ip ?? '',
    ];
    for (const text of cells) row.append(element('td', '', shortIds(text)));
    row.children[2].className = `outcome--${entry.outcome}`;
    row.children[4].title = entry.resource;
    $('audit-rows').append(row);
  }
  state.auditCursor = page.nextCursor;
  $('audit-more').hidden = page.nextCursor === null;
}

$('audit-more').addEventListener('click', async () => {
  const button = $('audit-more');
  button.disabled = true;
  try {
    await loadAudit();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
});

// ---- start -------------------------------------------------------------------------------

api('/api/me')
  .then(({ user }) => signedIn(user))
  .catch(() => showLogin());
