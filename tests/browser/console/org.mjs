// The stand-in org: a tiny CRM, the Tasks saved through Open CTI, and what the console shows.
// Every sforce.opencti method call the console page receives lands in `Org.call`, which
// validates it the way Salesforce does and answers {success, returnValue, errors}.
// No I/O here (beyond reading the library's constants at load): server.mjs owns HTTP,
// console.js owns the DOM.

import fs from 'node:fs';
import vm from 'node:vm';

export const API_VERSION = '66.0';

// Values of sforce.opencti.CALL_TYPE / SCREENPOP_TYPE as the library stand-in defines them:
// read from opencti_min.js itself (run once in an empty sandbox, where it only defines them
// and declines to start), so the org validates exactly what the page can send.
export const { CALL_TYPE, SCREENPOP_TYPE } = (() => {
  const window = { location: { search: '' }, addEventListener() {} };
  const library = fs.readFileSync(new URL('./opencti_min.js', import.meta.url), 'utf8');
  vm.runInNewContext(library, { window, URLSearchParams, URL, console: { error() {} }, setTimeout });
  return window.sforce.opencti;
})();

// The CRM of docs and tests; phones stored in mixed formats on purpose.
export const RECORDS = [
  {
    Id: '003000000000001AAA',
    Name: 'Ada Lovelace',
    RecordType: 'Contact',
    Phone: '(555) 010-2000',
    Title: 'Head of Analytics',
    AccountId: '001000000000001AAA',
  },
  {
    Id: '00Q000000000001AAA',
    Name: 'Grace Hopper',
    RecordType: 'Lead',
    Phone: '555.010.3000',
    Title: 'Rear Admiral (ret.)',
    Company: 'Navy Compilers Ltd',
  },
  {
    Id: '001000000000001AAA',
    Name: 'Acme Corp',
    RecordType: 'Account',
    Phone: '+1 555 010 4000',
    Industry: 'Manufacturing',
  },
];

// Task fields a saveLog may set; anything else is refused like Salesforce's INVALID_FIELD.
const TASK_FIELDS = {
  Subject: { type: 'string', max: 255 },
  Status: { type: 'picklist', values: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'] },
  Type: { type: 'picklist', values: ['Call', 'Email', 'Meeting', 'Other'] },
  Priority: { type: 'picklist', values: ['High', 'Normal', 'Low'] },
  CallType: { type: 'picklist', values: ['Inbound', 'Outbound', 'Internal'] },
  CallDurationInSeconds: { type: 'int' },
  CallDisposition: { type: 'string', max: 255 },
  CallObject: { type: 'string', max: 255 },
  Description: { type: 'string', max: 32000 },
  ActivityDate: { type: 'string', max: 10 },
  TaskSubtype: { type: 'picklist', values: ['Call', 'Task', 'Email'] },
  WhoId: { type: 'who' },
  WhatId: { type: 'what' },
};

const ID_RE = /^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/;

// The Apex class of docs/admin-guide.md ("Logging every call exactly once"), served by the
// org when the server runs with --apex-upsert: its name, method and the Task fields it accepts.
export const APEX_CLASS = 'SoftphoneCallLog';
export const APEX_METHOD = 'upsertTask';
const APEX_FIELDS = new Set([
  'Subject',
  'Status',
  'Type',
  'CallType',
  'CallDurationInSeconds',
  'CallDisposition',
  'CallObject',
  'Description',
  'WhoId',
  'WhatId',
]);

const ok = (returnValue = null) => ({ success: true, returnValue, errors: null });
const fail = (code, description, details) => ({
  success: false,
  returnValue: null,
  errors: [details === undefined ? { code, description } : { code, description, details }],
});
// An exception thrown by the Apex class itself (not a field error of its insert or update).
const apexError = (message) => fail('SERVER_ERROR', message);
const describe = (v) => {
  if (v === undefined || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
};
// Salesforce's wording for a bad argument.
const invalid = (param, expected, found) =>
  fail(
    'INVALID_PARAM',
    `An invalid value was passed to the parameter ${param}. ${expected} was expected, but ${describe(found)} was found instead.`,
  );

export const digits = (s) => String(s ?? '').replace(/\D/g, '');

// Phone search like Salesforce's for a softphone: searchParams split on " OR "; a term matches
// a record when its digits equal the stored phone's digits. A term without digits (2+ chars)
// matches names, as a global search would.
export function search(searchParams) {
  const terms = String(searchParams ?? '')
    .split(' OR ')
    .map((t) => t.trim())
    .filter(Boolean);
  return RECORDS.filter((r) =>
    terms.some((t) => {
      const d = digits(t);
      if (d) return d === digits(r.Phone);
      return t.length >= 2 && r.Name.toLowerCase().includes(t.toLowerCase());
    }),
  );
}

const summary = (r) => ({ Id: r.Id, Name: r.Name, RecordType: r.RecordType, Phone: r.Phone });
export const recordById = (id) => RECORDS.find((r) => r.Id === id || r.Id.slice(0, 15) === id);

// What the softphone inside a console page has set up when the page (re)loads: nothing yet.
const softphoneAtStart = () => ({
  initialized: false,
  clickToDialEnabled: false,
  panelVisible: false,
  panelHeight: 600,
  panelWidth: 360,
  panelLabel: 'Phone',
  panelIcon: 'call',
  itemLabel: 'Phone',
  itemIcon: 'call',
  view: { kind: 'home' },
});

export class Org {
  // `apexUpsert`: the org has the SoftphoneCallLog class and the Call Center names it.
  constructor({ adapterUrl = '', bridgePort = null, apexUpsert = false } = {}) {
    this.defaults = { adapterUrl, bridgePort, apexUpsert: Boolean(apexUpsert) };
    this.failNextSaveLog = false;
    this.taskSeq = 0;
    this.state = {
      tasks: [],
      screenPops: [],
      calls: [],
      clicks: [],
      records: RECORDS,
      ...softphoneAtStart(),
      refreshCount: 0,
    };
  }

  // A console page (re)loaded: the softphone inside it starts over, the org's data stays.
  pageLoaded() {
    Object.assign(this.state, softphoneAtStart());
  }

  reset() {
    const fresh = new Org(this.defaults);
    this.failNextSaveLog = false;
    this.taskSeq = 0;
    this.state = fresh.state;
  }

  // What the user did in the console itself (not an Open CTI call).
  ui(action) {
    const s = this.state;
    switch (action?.action) {
      case 'load':
        this.pageLoaded();
        return true;
      case 'panel':
        s.panelVisible = Boolean(action.visible);
        return true;
      case 'navigate': {
        const r = recordById(String(action.recordId ?? ''));
        s.view = r ? { kind: 'record', recordId: r.Id } : { kind: 'home' };
        return true;
      }
      case 'click': {
        s.clicks.push({
          recordId: String(action.recordId ?? ''),
          number: String(action.number ?? ''),
          delivered: Boolean(action.delivered),
          at: typeof action.at === 'number' ? action.at : Date.now(),
        });
        return true;
      }
      default:
        return false;
    }
  }

  // One sforce.opencti method call. `context` is what the console page knows: its origin and
  // the adapter URL / bridge port it was opened with.
  call(methodName, args, at, context = {}) {
    const when = typeof at === 'number' && Number.isFinite(at) ? at : Date.now();
    this.state.calls.push({ methodName: String(methodName), args: args ?? null, at: when });
    const handler = Object.hasOwn(HANDLERS, methodName) ? HANDLERS[methodName] : null;
    if (!handler) {
      return fail('GENERIC_ERROR', `An error occurred while calling the API method: unknown method ${String(methodName)}.`);
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      return invalid('args', 'An object', args);
    }
    return handler.call(this, args, when, context);
  }

  settings(context) {
    const adapterUrl = context.adapterUrl || this.defaults.adapterUrl;
    const bridgePort = context.bridgePort ?? this.defaults.bridgePort;
    const map = {
      '/reqGeneralInfo/reqInternalName': 'SoftphoneDemo',
      '/reqGeneralInfo/reqDisplayName': 'Softphone (demo)',
      '/reqGeneralInfo/reqAdapterUrl': adapterUrl,
      '/reqGeneralInfo/reqUseApi': 'true',
      '/reqGeneralInfo/reqSoftphoneHeight': '600',
      '/reqGeneralInfo/reqSoftphoneWidth': '360',
      '/reqGeneralInfo/reqSalesforceCompatibilityMode': 'Lightning',
    };
    if (bridgePort !== null && bridgePort !== undefined && bridgePort !== '') {
      map['/softphoneBridge/port'] = String(bridgePort);
    }
    // As `softphone callcenter-xml` writes it: the item is always there, empty without a class.
    map['/softphoneLogging/apexUpsertClass'] = this.defaults.apexUpsert ? APEX_CLASS : '';
    return map;
  }

  // POST /__test/fail-next-savelog: the next saveLog or Apex upsert fails, whichever comes first.
  takeInjectedFailure() {
    if (!this.failNextSaveLog) return null;
    this.failNextSaveLog = false;
    const message = 'Name ID: id value of incorrect type (failure injected by POST /__test/fail-next-savelog)';
    return fail('FIELD_INTEGRITY_EXCEPTION', message, [
      { message, errorCode: 'FIELD_INTEGRITY_EXCEPTION', fields: ['WhoId'] },
    ]);
  }

  // SoftphoneCallLog.upsertTask(callObject, fields) as the class in docs/admin-guide.md runs
  // it: the Task with that CallObject (the first created; the console has one user, who owns
  // every Task) is updated, or a Task is inserted; the answer is its Id.
  apexUpsertTask(methodParams, at) {
    const params = new URLSearchParams(methodParams ?? '');
    const callObject = params.get('callObject');
    const fieldsJson = params.get('fields');
    if (callObject === null || callObject.trim() === '') {
      return apexError('SoftphoneCallLog.CallLogException: callObject is required');
    }
    let fields;
    try {
      fields = JSON.parse(fieldsJson ?? '');
    } catch (e) {
      return apexError(`System.JSONException: fields is not JSON: ${e.message}`);
    }
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      return apexError('System.JSONException: fields must be a JSON object');
    }
    for (const name of Object.keys(fields)) {
      if (!APEX_FIELDS.has(name)) {
        const message = `SoftphoneCallLog.CallLogException: field not accepted for a call log: ${name}`;
        return fail('INVALID_FIELD', message, [{ message, errorCode: 'INVALID_FIELD', fields: [name] }]);
      }
    }
    // The class sets CallObject from its parameter, so the Task is found again by it.
    const values = { ...fields, CallObject: callObject };
    const error = this.checkTaskFields(values);
    if (error) return error;
    // An injected failure stands for the insert or update failing, after the class's checks.
    const injected = this.takeInjectedFailure();
    if (injected) return injected;
    const task = this.state.tasks.find((t) => t.CallObject === callObject);
    if (task) {
      Object.assign(task, values, { updatedAt: at });
      return ok({ runApex: task.Id });
    }
    const created = { Id: this.nextTaskId(), ...values, createdAt: at, updatedAt: at };
    this.state.tasks.push(created);
    return ok({ runApex: created.Id });
  }

  nextTaskId() {
    this.taskSeq += 1;
    return `00T${String(this.taskSeq).padStart(12, '0')}AAA`;
  }

  // Field checks of a Task insert/update; returns an error response or null.
  checkTaskFields(fields) {
    for (const [name, value] of Object.entries(fields)) {
      const spec = TASK_FIELDS[name];
      if (!spec) {
        return fail('INVALID_FIELD', `No such column '${name}' on entity 'Task'.`, [
          { message: `No such column '${name}' on entity 'Task'.`, errorCode: 'INVALID_FIELD', fields: [name] },
        ]);
      }
      if (value === null || value === undefined || value === '') continue; // clears the field
      const fieldError = (code, message) => fail(code, message, [{ message, errorCode: code, fields: [name] }]);
      switch (spec.type) {
        case 'string':
          if (typeof value !== 'string') return fieldError('INVALID_TYPE_ON_FIELD_IN_RECORD', `${name}: value not of required type: ${JSON.stringify(value)}`);
          if (value.length > spec.max) return fieldError('STRING_TOO_LONG', `${name}: data value too large (max length=${spec.max})`);
          break;
        case 'picklist':
          if (!spec.values.includes(value)) return fieldError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${name}: bad value for restricted picklist field: ${String(value)}`);
          break;
        case 'int':
          if (!Number.isInteger(value) || value < 0) return fieldError('INVALID_TYPE_ON_FIELD_IN_RECORD', `${name}: value not of required type: ${JSON.stringify(value)}`);
          break;
        case 'who':
        case 'what': {
          const label = spec.type === 'who' ? 'Name ID' : 'Related To ID';
          if (typeof value !== 'string' || !ID_RE.test(value)) return fieldError('MALFORMED_ID', `${label}: id value of incorrect type: ${String(value)}`);
          const whoKind = /^(003|00Q)/.test(value);
          // Real orgs: WhoId holds Contacts and Leads only; WhatId never holds them.
          if ((spec.type === 'who') !== whoKind) return fieldError('FIELD_INTEGRITY_EXCEPTION', `${label}: id value of incorrect type: ${value}`);
          break;
        }
      }
    }
    return null;
  }

  showView(view) {
    this.state.view = view;
  }
}

const isString = (v) => typeof v === 'string';
const optional = (v, pred) => v === undefined || pred(v);

// Method handlers: `this` is the Org, each returns {success, returnValue, errors}.
// The panel's and the item's setters differ only in the argument they read and the field
// they set; `this` is the Org, as in every handler.
function sizeSetter(param, field, min, max) {
  return function (a) {
    const v = a[param];
    if (!Number.isFinite(v) || v < min || v > max) return invalid(param, `A number from ${min} to ${max}`, v);
    this.state[field] = Math.round(v);
    return ok();
  };
}
function iconSetter(field) {
  return function (a) {
    if (!isString(a.key) || !a.key) return invalid('key', 'A string', a.key);
    this.state[field] = a.key;
    return ok();
  };
}
function labelSetter(field) {
  return function (a) {
    if (!isString(a.label)) return invalid('label', 'A string', a.label);
    this.state[field] = a.label;
    return ok();
  };
}

const HANDLERS = {
  notifyInitializationComplete() {
    this.state.initialized = true;
    return ok();
  },
  enableClickToDial() {
    this.state.clickToDialEnabled = true;
    return ok();
  },
  disableClickToDial() {
    this.state.clickToDialEnabled = false;
    return ok();
  },
  onClickToDial() {
    return ok();
  },
  onNavigationChange() {
    return ok();
  },

  searchAndScreenPop(a, at) {
    const types = Object.values(CALL_TYPE);
    if (!types.includes(a.callType)) return invalid('callType', `One of ${types.join(', ')}`, a.callType);
    if (!optional(a.searchParams, isString)) return invalid('searchParams', 'A string', a.searchParams);
    if (!optional(a.queryParams, isString)) return invalid('queryParams', 'A string', a.queryParams);
    if (!optional(a.deferred, (v) => typeof v === 'boolean')) return invalid('deferred', 'A boolean', a.deferred);
    if (!optional(a.defaultFieldValues, (v) => v !== null && typeof v === 'object')) {
      return invalid('defaultFieldValues', 'An object', a.defaultFieldValues);
    }
    const matches = search(a.searchParams);
    const result = {};
    for (const r of matches) result[r.Id] = summary(r);
    // Softphone layout defaults: one match pops the record, several pop the search page,
    // none pops nothing.
    let pop = null;
    if (matches.length === 1) pop = { type: SCREENPOP_TYPE.SOBJECT, params: { recordId: matches[0].Id } };
    else if (matches.length > 1) pop = { type: SCREENPOP_TYPE.SEARCH, params: { searchString: a.searchParams } };
    if (a.deferred) {
      if (pop) result.SCREEN_POP_DATA = pop;
    } else if (pop) {
      this.showView(
        matches.length === 1
          ? { kind: 'record', recordId: matches[0].Id }
          : { kind: 'search', searchString: a.searchParams, recordIds: matches.map((r) => r.Id) },
      );
    }
    this.state.screenPops.push({
      recordId: !a.deferred && matches.length === 1 ? matches[0].Id : null,
      searchParams: a.searchParams ?? null,
      callType: a.callType,
      at,
      method: 'searchAndScreenPop',
      matches: matches.map((r) => r.Id),
      deferred: Boolean(a.deferred),
    });
    return ok(result);
  },

  screenPop(a, at) {
    const types = Object.values(SCREENPOP_TYPE);
    if (!types.includes(a.type)) return invalid('type', `One of ${types.join(', ')}`, a.type);
    const p = a.params;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return invalid('params', 'An object', p);
    let view;
    let recordId = null;
    switch (a.type) {
      case SCREENPOP_TYPE.SOBJECT: {
        if (!isString(p.recordId) || !ID_RE.test(p.recordId)) return invalid('recordId', 'A record ID', p.recordId);
        const r = recordById(p.recordId);
        // Salesforce navigates even to a record that does not exist, then shows an error page.
        view = r ? { kind: 'record', recordId: r.Id } : { kind: 'missing', recordId: p.recordId };
        recordId = r ? r.Id : p.recordId;
        break;
      }
      case SCREENPOP_TYPE.URL:
        if (!isString(p.url) || !p.url.startsWith('/')) return invalid('url', 'A relative URL', p.url);
        view = { kind: 'url', url: p.url };
        break;
      case SCREENPOP_TYPE.OBJECTHOME:
        if (!isString(p.scope) || !p.scope) return invalid('scope', 'A string', p.scope);
        view = { kind: 'objecthome', scope: p.scope };
        break;
      case SCREENPOP_TYPE.LIST:
        if (!isString(p.listViewId)) return invalid('listViewId', 'A string', p.listViewId);
        if (!isString(p.scope)) return invalid('scope', 'A string', p.scope);
        view = { kind: 'list', scope: p.scope, listViewId: p.listViewId };
        break;
      case SCREENPOP_TYPE.SEARCH:
        if (!isString(p.searchString) || p.searchString.length < 3) {
          return invalid('searchString', 'A string of at least 3 characters', p.searchString);
        }
        view = { kind: 'search', searchString: p.searchString, recordIds: search(p.searchString).map((r) => r.Id) };
        break;
      case SCREENPOP_TYPE.NEW_RECORD_MODAL:
        if (!isString(p.entityName) || !p.entityName) return invalid('entityName', 'A string', p.entityName);
        if (!optional(p.defaultFieldValues, (v) => v !== null && typeof v === 'object')) {
          return invalid('defaultFieldValues', 'An object', p.defaultFieldValues);
        }
        view = { kind: 'newRecord', entityName: p.entityName, defaultFieldValues: p.defaultFieldValues ?? {} };
        break;
      case SCREENPOP_TYPE.FLOW:
        if (!isString(p.flowDevName) || !p.flowDevName) return invalid('flowDevName', 'A string', p.flowDevName);
        if (!optional(p.flowArgs, Array.isArray)) return invalid('flowArgs', 'An array', p.flowArgs);
        view = { kind: 'flow', flowDevName: p.flowDevName };
        break;
    }
    this.showView(view);
    this.state.screenPops.push({
      recordId,
      searchParams: null,
      callType: null,
      at,
      method: 'screenPop',
      type: a.type,
      params: p,
    });
    return ok();
  },

  saveLog(a, at) {
    const v = a.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return invalid('value', 'An object', v);
    const injected = this.takeInjectedFailure();
    if (injected) return injected;
    const { Id, entityApiName, ...fields } = v;
    if (Id === undefined && entityApiName === undefined) {
      return invalid('value', 'An object with entityApiName (to create) or Id (to update)', v);
    }
    if (Id !== undefined) {
      const task = isString(Id) ? this.state.tasks.find((t) => t.Id === Id || t.Id.slice(0, 15) === Id) : null;
      if (!task) {
        const message = `invalid cross reference id: ${String(Id)} is not a Task of this org`;
        return fail('GENERIC_ERROR', 'An error occurred while calling the saveLog() API method. Review the Details field in the error section.', [
          { message, errorCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['Id'] },
        ]);
      }
      const error = this.checkTaskFields(fields);
      if (error) return error;
      Object.assign(task, fields, { updatedAt: at });
      return ok({ recordId: task.Id });
    }
    if (entityApiName !== 'Task') {
      return fail('GENERIC_ERROR', `The stand-in console saves Task records only, not ${String(entityApiName)}.`);
    }
    const error = this.checkTaskFields(fields);
    if (error) return error;
    const task = { Id: this.nextTaskId(), ...fields, createdAt: at, updatedAt: at };
    this.state.tasks.push(task);
    return ok({ recordId: task.Id });
  },

  refreshView() {
    this.state.refreshCount += 1;
    return ok();
  },

  setSoftphonePanelVisibility(a) {
    if (typeof a.visible !== 'boolean') return invalid('visible', 'A boolean', a.visible);
    this.state.panelVisible = a.visible;
    return ok();
  },
  isSoftphonePanelVisible() {
    return ok({ visible: this.state.panelVisible });
  },
  setSoftphonePanelHeight: sizeSetter('heightPX', 'panelHeight', 240, 2560),
  setSoftphonePanelWidth: sizeSetter('widthPX', 'panelWidth', 200, 1920),
  setSoftphoneItemIcon: iconSetter('itemIcon'),
  setSoftphoneItemLabel: labelSetter('itemLabel'),
  setSoftphonePanelIcon: iconSetter('panelIcon'),
  setSoftphonePanelLabel: labelSetter('panelLabel'),
  getCallCenterSettings(_a, _at, context) {
    return ok(this.settings(context));
  },
  getSoftphoneLayout() {
    const objects = {
      Contact: [{ apiName: 'Phone', displayName: 'Phone' }],
      Lead: [{ apiName: 'Phone', displayName: 'Phone' }],
      Account: [{ apiName: 'Phone', displayName: 'Phone' }],
    };
    const screenPopSettings = {
      NoMatch: { screenPopType: 'DoNotPop' },
      SingleMatch: { screenPopType: 'PopToEntity' },
      MultipleMatches: { screenPopType: 'PopToSearch' },
    };
    const layout = { objects, screenPopSettings };
    return ok({ Inbound: layout, Outbound: layout, Internal: layout });
  },
  getAppViewInfo(_a, _at, context) {
    return ok(appViewInfo(this.state.view, context.origin ?? ''));
  },

  runApex(a, at) {
    if (!isString(a.apexClass) || !a.apexClass) return invalid('apexClass', 'A string', a.apexClass);
    if (!isString(a.methodName) || !a.methodName) return invalid('methodName', 'A string', a.methodName);
    if (!optional(a.methodParams, isString)) return invalid('methodParams', 'A string', a.methodParams);
    if (!this.defaults.apexUpsert || a.apexClass !== APEX_CLASS) {
      const why = this.defaults.apexUpsert ? `only ${APEX_CLASS} exists here` : 'no Apex here without --apex-upsert';
      return fail('SERVER_ERROR', `Could not load Apex class: ${a.apexClass}. (The stand-in console has ${why}.)`);
    }
    if (a.methodName !== APEX_METHOD) {
      return fail('SERVER_ERROR', `No such method ${a.methodName} on Apex class ${APEX_CLASS}.`);
    }
    return this.apexUpsertTask(a.methodParams, at);
  },
};

// getAppViewInfo / onNavigationChange payload for what the console shows.
export function appViewInfo(view, origin) {
  if (view?.kind === 'record') {
    const r = recordById(view.recordId);
    if (r) {
      return {
        url: `${origin}/lightning/r/${r.RecordType}/${r.Id}/view`,
        recordId: r.Id,
        recordName: r.Name,
        objectType: r.RecordType,
      };
    }
  }
  if (view?.kind === 'search') {
    return { url: `${origin}/one/one.app#search/${encodeURIComponent(view.searchString ?? '')}` };
  }
  if (view?.kind === 'url') return { url: `${origin}${view.url}` };
  return { url: `${origin}/lightning/page/home` };
}
