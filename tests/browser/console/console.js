// The stand-in Lightning console page: frames the softphone (the Call Center adapter URL) in a
// utility-bar panel, answers its Open CTI calls and shows their effects (screen pops, Tasks,
// the utility item's label and icon). Every method call goes to the console server
// (POST /__test/record), which validates it, updates the org and returns the answer, so
// GET /__test/state and window.__console always agree. Calls are handled one at a time, in
// the order they arrived.
//
// Everything the softphone controls reaches the DOM through textContent or setAttribute.
'use strict';

(function () {
  const API_VERSION = '66.0';
  const API_TYPE = 'opencti';
  const $ = (sel) => document.querySelector(sel);

  const frame = $('[data-softphone]');
  const listeners = {}; // methodName -> {callId, source, origin}
  let context = { origin: location.origin };
  let adapterOrigin = null;
  let queue = Promise.resolve();

  window.__console = null;

  function enqueue(job) {
    queue = queue.then(job).catch((e) => {
      console.error('console:', e);
      showProblem(`The console lost its server: ${e.message}`);
    });
  }

  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  // ---- rendering -------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  // A few SLDS utility icon keys drawn here; any other key gets a neutral dot and keeps its
  // name in data-icon (and the title).
  const ICONS = {
    call: 'M5 3h4l1.6 4.6-2.4 1.6a11 11 0 0 0 6.6 6.6l1.6-2.4L21 15v4a2 2 0 0 1-2 2A17.5 17.5 0 0 1 3 5a2 2 0 0 1 2-2z',
    end_call: 'M2.6 14.6l2.7 2.7 3.9-1.8-.4-2.9a11 11 0 0 1 6.4 0l-.4 2.9 3.9 1.8 2.7-2.7a1.8 1.8 0 0 0 0-2.6A13.5 13.5 0 0 0 2.6 12a1.8 1.8 0 0 0 0 2.6z',
    phone_portrait: 'M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm0 3v13h8V5z',
    unmuted: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zm-6 9h2a4 4 0 0 0 8 0h2a6 6 0 0 1-5 5.9V21h-2v-3.1A6 6 0 0 1 6 12z',
    muted: 'M4 4l16 16-1.4 1.4-4.1-4.1A6 6 0 0 1 13 18v3h-2v-3.1A6 6 0 0 1 6 12h2a4 4 0 0 0 5.5 3.7L12 14.2A3 3 0 0 1 9 12v-.8L2.6 5.4zM12 3a3 3 0 0 1 3 3v4.2L9.2 4.4A3 3 0 0 1 12 3z',
    pause: 'M6 4h4v16H6zm8 0h4v16h-4z',
    clock: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16zm-1 3h2v5l4 2.3-1 1.7-5-3z',
    warning: 'M12 2l10.4 18H1.6zm-1 7v5h2V9zm0 7v2h2v-2z',
    error: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm-1 5v6h2V7zm0 8v2h2v-2z',
  };
  function setIcon(holder, key) {
    holder.textContent = '';
    holder.setAttribute('data-icon', key);
    holder.setAttribute('title', key);
    holder.className = `icon icon-${ICONS[key] ? key : 'other'}`;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '16');
    svg.setAttribute('height', '16');
    svg.setAttribute('focusable', 'false');
    if (ICONS[key]) {
      const p = document.createElementNS(SVG, 'path');
      p.setAttribute('d', ICONS[key]);
      svg.append(p);
    } else {
      const c = document.createElementNS(SVG, 'circle');
      c.setAttribute('cx', '12');
      c.setAttribute('cy', '12');
      c.setAttribute('r', '5');
      svg.append(c);
    }
    holder.append(svg);
  }

  const byId = (id) => (window.__console?.records || []).find((r) => r.Id === id || r.Id.slice(0, 15) === id);

  function phoneLink(r, hook) {
    const enabled = Boolean(window.__console?.clickToDialEnabled);
    return el(
      'a',
      {
        href: '#',
        class: enabled ? 'phone' : 'phone phone-disabled',
        [hook]: true,
        'data-record-id': r.Id,
        'aria-disabled': enabled ? null : 'true',
        title: enabled ? `Call ${r.Name}` : 'Click-to-dial is off until the softphone enables it',
      },
      r.Phone,
    );
  }

  function recordLink(r) {
    return el('a', { href: '#', class: 'record-link', 'data-open-record': r.Id }, r.Name);
  }

  function renderCrm(s) {
    const body = $('[data-crm]');
    body.textContent = '';
    for (const r of s.records) {
      body.append(
        el(
          'tr',
          { 'data-record-row': r.Id },
          el('td', null, recordLink(r)),
          el('td', null, el('span', { class: `badge badge-${r.RecordType.toLowerCase()}` }, r.RecordType)),
          el('td', null, phoneLink(r, 'data-click-to-dial')),
        ),
      );
    }
    $('[data-c2d-hint]').textContent = s.clickToDialEnabled
      ? 'Click a phone number to call it from the softphone.'
      : 'Phone numbers become clickable once the softphone calls enableClickToDial.';
  }

  function field(label, value) {
    return el('div', { class: 'field' }, el('dt', null, label), el('dd', null, value ?? '—'));
  }

  // A WhoId/WhatId: the record's name, its Id below it.
  function reference(id) {
    const r = id ? byId(id) : null;
    if (!r) return String(id);
    const frag = document.createDocumentFragment();
    frag.append(r.Name, el('span', { class: 'ref-id' }, `${r.RecordType} ${id}`));
    return frag;
  }

  function taskFields(t) {
    const dl = el('dl', { class: 'task-fields' });
    const order = ['CallType', 'CallDurationInSeconds', 'CallDisposition', 'WhoId', 'WhatId', 'Status', 'Type', 'CallObject', 'Description'];
    const seen = new Set(['Id', 'Subject', 'createdAt', 'updatedAt']);
    const keys = [...order.filter((k) => k in t), ...Object.keys(t).filter((k) => !order.includes(k) && !seen.has(k))];
    for (const k of keys) {
      let v = t[k];
      if (k === 'CallDurationInSeconds' && typeof v === 'number') v = `${v} s`;
      if ((k === 'WhoId' || k === 'WhatId') && v) v = reference(v);
      else v = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      dl.append(field(k, v));
    }
    return dl;
  }

  function renderTasks(s) {
    const list = $('[data-tasks]');
    list.textContent = '';
    for (const t of [...s.tasks].reverse()) {
      const when = new Date(t.createdAt).toLocaleTimeString();
      list.append(
        el(
          'li',
          { class: 'task', 'data-task-id': t.Id },
          el('div', { class: 'task-head' }, el('span', { class: 'task-subject' }, t.Subject || '(no subject)'), el('span', { class: 'task-when' }, when)),
          el('div', { class: 'task-id' }, t.Id),
          taskFields(t),
        ),
      );
    }
    $('[data-task-count]').textContent = `(${s.tasks.length})`;
    $('[data-tasks-empty]').hidden = s.tasks.length > 0;
  }

  function renderCallLog(s) {
    const list = $('[data-call-log]');
    list.textContent = '';
    // Newest first; repeats in a row (the item label ticking with the call timer) folded.
    const rows = [];
    for (const c of [...s.calls].reverse()) {
      const last = rows[rows.length - 1];
      if (last && last.methodName === c.methodName) last.count += 1;
      else if (rows.length < 14) rows.push({ methodName: c.methodName, at: c.at, count: 1 });
      else break;
    }
    for (const r of rows) {
      list.append(
        el(
          'li',
          null,
          el('span', { class: 'call-time' }, new Date(r.at).toLocaleTimeString()),
          el('code', null, r.methodName),
          r.count > 1 ? el('span', { class: 'call-count' }, `×${r.count}`) : null,
        ),
      );
    }
    if (s.calls.length === 0) list.append(el('li', { class: 'empty' }, 'None yet.'));
  }

  function recordDetail(r, s) {
    const account = r.AccountId ? byId(r.AccountId) : null;
    const details = el(
      'dl',
      { class: 'record-fields' },
      field('Phone', phoneLink(r, 'data-record-phone')),
      r.Title ? field('Title', r.Title) : null,
      r.Company ? field('Company', r.Company) : null,
      r.Industry ? field('Industry', r.Industry) : null,
      account ? field('Account', recordLink(account)) : null,
      field('Record ID', r.Id),
    );
    const related = s.tasks.filter((t) => t.WhoId === r.Id || t.WhatId === r.Id);
    const activity = el('ol', { class: 'activity' });
    for (const t of [...related].reverse()) {
      const bits = [t.CallType, typeof t.CallDurationInSeconds === 'number' ? `${t.CallDurationInSeconds} s` : null, t.CallDisposition].filter(Boolean);
      activity.append(el('li', null, el('strong', null, t.Subject || '(no subject)'), ` · ${bits.join(' · ')}`));
    }
    return [
      el('p', { class: 'record-kind' }, el('span', { class: `badge badge-${r.RecordType.toLowerCase()}` }, r.RecordType)),
      details,
      el('h3', null, 'Activity'),
      related.length ? activity : el('p', { class: 'empty' }, 'No logged calls for this record yet.'),
    ];
  }

  function renderRecord(s) {
    const area = $('[data-record-area]');
    const title = $('[data-record-title]');
    const icon = $('[data-record-icon]');
    const v = s.view || { kind: 'home' };
    area.textContent = '';
    area.setAttribute('data-view', v.kind);
    area.removeAttribute('data-record-id');
    icon.className = 'object-icon';
    let heading = 'Home';
    switch (v.kind) {
      case 'record': {
        const r = byId(v.recordId);
        heading = r.Name;
        icon.className = `object-icon object-icon-${r.RecordType.toLowerCase()}`;
        area.setAttribute('data-record-id', r.Id);
        area.append(...recordDetail(r, s));
        break;
      }
      case 'search': {
        heading = `Search results for “${v.searchString ?? ''}”`;
        const ul = el('ul', { class: 'search-results' });
        for (const id of v.recordIds || []) {
          const r = byId(id);
          if (r) ul.append(el('li', { 'data-search-result': r.Id }, recordLink(r), el('span', { class: `badge badge-${r.RecordType.toLowerCase()}` }, r.RecordType), el('span', { class: 'muted' }, r.Phone)));
        }
        area.append(v.recordIds?.length ? ul : el('p', { class: 'empty' }, 'No matches.'));
        break;
      }
      case 'missing':
        heading = 'Record not found';
        area.append(el('p', { class: 'empty' }, `This record (${v.recordId}) does not exist or you cannot see it.`));
        break;
      case 'url':
        heading = 'Page';
        area.append(el('p', null, 'Screen pop to the relative URL ', el('code', null, v.url)));
        break;
      case 'objecthome':
        heading = `${v.scope} home`;
        area.append(el('p', { class: 'empty' }, `The ${v.scope} object home (not modelled in this console).`));
        break;
      case 'list':
        heading = `${v.scope} list view`;
        area.append(el('p', { class: 'empty' }, `List view ${v.listViewId} (not modelled in this console).`));
        break;
      case 'newRecord':
        heading = `New ${v.entityName}`;
        area.append(el('p', null, 'A new-record form would open with:'), el('pre', null, JSON.stringify(v.defaultFieldValues, null, 2)));
        break;
      case 'flow':
        heading = `Flow ${v.flowDevName}`;
        area.append(el('p', { class: 'empty' }, 'A screen flow would open here (not modelled in this console).'));
        break;
      default:
        area.append(
          el('div', { class: 'welcome' },
            el('p', { class: 'welcome-title' }, 'No record open'),
            el('p', null, 'An incoming call pops the matching record here. Open the Phone item in the utility bar, or click a phone number to dial it.')),
        );
    }
    title.textContent = heading;
    const tab = $('[data-nav-current]');
    tab.textContent = heading;
    tab.hidden = v.kind === 'home';
    $('[data-go-home]').classList.toggle('nav-tab-active', v.kind === 'home');
  }

  function renderUtility(s) {
    const item = $('[data-utility-item]');
    $('[data-item-label]').textContent = s.itemLabel;
    setIcon($('[data-item-icon]'), s.itemIcon);
    item.setAttribute('aria-expanded', String(s.panelVisible));
    item.classList.toggle('active', s.panelVisible);
    $('[data-panel-label]').textContent = s.panelLabel;
    setIcon($('[data-panel-icon]'), s.panelIcon);
    const panel = $('[data-panel]');
    panel.classList.toggle('closed', !s.panelVisible);
    panel.setAttribute('aria-hidden', String(!s.panelVisible));
    const workspace = $('[data-workspace]');
    workspace.classList.toggle('docked', s.panelVisible);
    workspace.style.setProperty('--panel-width', `${s.panelWidth}px`);
    frame.style.width = `${s.panelWidth}px`;
    frame.style.height = `${s.panelHeight}px`;
    const status = !s.initialized
      ? 'Open CTI: waiting for notifyInitializationComplete'
      : `Open CTI: ready · click-to-dial ${s.clickToDialEnabled ? 'on' : 'off'} · ${s.tasks.length} Task${s.tasks.length === 1 ? '' : 's'}`;
    $('[data-cti-status]').textContent = status;
  }

  function applyState(s) {
    window.__console = s;
    renderCrm(s);
    renderRecord(s);
    renderTasks(s);
    renderCallLog(s);
    renderUtility(s);
  }

  function showProblem(text) {
    const area = $('[data-record-area]');
    area.textContent = '';
    area.append(el('p', { class: 'problem', role: 'alert' }, text));
  }

  // ---- Open CTI ----------------------------------------------------------------------------

  function fireListener(methodName, payload) {
    const l = listeners[methodName];
    if (!l) return false;
    l.source.postMessage({ apiVersion: API_VERSION, apiType: API_TYPE, callId: l.callId, methodName, isListener: true, response: payload }, l.origin);
    return true;
  }

  function appViewInfo(s) {
    const v = s.view || {};
    const r = v.kind === 'record' ? byId(v.recordId) : null;
    if (r) {
      return { url: `${location.origin}/lightning/r/${r.RecordType}/${r.Id}/view`, recordId: r.Id, recordName: r.Name, objectType: r.RecordType };
    }
    return { url: `${location.origin}/lightning/page/home` };
  }

  function onMessage(event) {
    // Only the softphone frame, from the adapter's origin, in the documented shape.
    if (event.source !== frame.contentWindow || event.origin !== adapterOrigin) return;
    const d = event.data;
    if (!d || typeof d !== 'object' || d.apiType !== API_TYPE || d.apiVersion !== API_VERSION) return;
    if (typeof d.methodName !== 'string' || d.callId === undefined || d.callId === null) return;
    const at = Date.now();
    const { source, origin } = event;
    enqueue(async () => {
      const before = JSON.stringify(window.__console?.view);
      const { response, state } = await post('/__test/record', { methodName: d.methodName, args: d.args, at, context });
      applyState(state);
      if (d.isListenerRegistered && response.success) listeners[d.methodName] = { callId: d.callId, source, origin };
      if (d.isCallbackRegistered) {
        source.postMessage({ apiVersion: API_VERSION, apiType: API_TYPE, callId: d.callId, methodName: d.methodName, response }, origin);
      }
      if (JSON.stringify(state.view) !== before) fireListener('onNavigationChange', appViewInfo(state));
    });
  }

  function clickToDial(link) {
    const r = byId(link.getAttribute('data-record-id'));
    if (!r) return;
    const at = Date.now();
    const s = window.__console;
    let delivered = false;
    if (s?.clickToDialEnabled) {
      const payload = { number: r.Phone, recordId: r.Id, recordName: r.Name, objectType: r.RecordType, personAccount: false };
      if (r.RecordType === 'Contact' && r.AccountId) payload.accountId = r.AccountId;
      if (r.RecordType === 'Account') payload.accountId = r.Id;
      delivered = fireListener('onClickToDial', payload);
    }
    enqueue(async () => applyState((await post('/__test/ui', { action: 'click', recordId: r.Id, number: r.Phone, delivered, at })).state));
  }

  function navigate(recordId) {
    enqueue(async () => {
      const before = JSON.stringify(window.__console?.view);
      const { state } = await post('/__test/ui', { action: 'navigate', recordId });
      applyState(state);
      if (JSON.stringify(state.view) !== before) fireListener('onNavigationChange', appViewInfo(state));
    });
  }

  function setPanel(visible) {
    enqueue(async () => applyState((await post('/__test/ui', { action: 'panel', visible })).state));
  }

  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const dial = target.closest('[data-click-to-dial],[data-record-phone]');
    if (dial) {
      e.preventDefault();
      clickToDial(dial);
      return;
    }
    const open = target.closest('[data-open-record]');
    if (open) {
      e.preventDefault();
      navigate(open.getAttribute('data-open-record'));
      return;
    }
    if (target.closest('[data-go-home]')) navigate('');
    else if (target.closest('[data-utility-item]')) setPanel(!window.__console?.panelVisible);
    else if (target.closest('[data-panel-minimize]')) setPanel(false);
  });

  $('[data-search]').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const term = e.target.value.trim();
    const hit = (window.__console?.records || []).find((r) => r.Name.toLowerCase().includes(term.toLowerCase()) || (term.replace(/\D/g, '') && r.Phone.replace(/\D/g, '').includes(term.replace(/\D/g, ''))));
    if (term && hit) navigate(hit.Id);
  });

  async function start() {
    const q = new URLSearchParams(location.search);
    const cfg = await (await fetch('/__console/config')).json();
    const adapterUrl = q.get('adapter') || cfg.adapterUrl;
    const bridgePort = /^\d{1,5}$/.test(q.get('bridgePort') || '') ? q.get('bridgePort') : cfg.bridgePort;
    context = { origin: location.origin, adapterUrl, bridgePort };

    const { state } = await post('/__test/ui', { action: 'load' });
    applyState(state);

    let src;
    try {
      src = new URL(adapterUrl);
      if (src.protocol !== 'http:' && src.protocol !== 'https:') throw new Error('not http(s)');
    } catch (e) {
      showProblem(`The adapter URL is not an http(s) URL: ${adapterUrl}`);
      return;
    }
    adapterOrigin = src.origin;
    src.searchParams.set('mode', 'Lightning');
    src.searchParams.set('sfdcIframeOrigin', location.origin);
    window.addEventListener('message', onMessage);
    frame.src = src.href;
  }

  start().catch((e) => showProblem(`The console could not start: ${e.message}`));
})();
