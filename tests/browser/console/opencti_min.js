// Stand-in for Salesforce's Lightning Open CTI library (/support/api/66.0/lightning/opencti_min.js),
// served by the development console in tests/browser/console. It behaves like the real one as
// documented: it reads `sfdcIframeOrigin` and `mode` from the page's own URL, refuses to start
// without them or when the schemes differ, posts every call to `parent` as
//   {methodName, callId, apiVersion, apiType:'opencti', isCallbackRegistered, isListenerRegistered, args}
// with targetOrigin = sfdcIframeOrigin, and accepts replies only from that origin with the
// same apiVersion/apiType. Every method takes ONE object argument; its `callback` gets
// {success, returnValue, errors} and its `listener` (onClickToDial, onNavigationChange) gets
// the event payload.
//
// Replies from the console: {apiVersion, apiType, callId, methodName, response} answers a
// callback; the same with `isListener: true` delivers a listener event for the call that
// registered it. (The real wire format of replies is internal to Salesforce; the page only
// sees callbacks and listeners.)
(function () {
  'use strict';
  var API_VERSION = '66.0';
  var API_TYPE = 'opencti';

  var sforce = (window.sforce = window.sforce || {});
  var opencti = (sforce.opencti = sforce.opencti || {});
  opencti.CALL_TYPE = Object.freeze({ INBOUND: 'inbound', OUTBOUND: 'outbound', INTERNAL: 'internal' });
  opencti.SCREENPOP_TYPE = Object.freeze({
    SOBJECT: 'sobject',
    URL: 'url',
    OBJECTHOME: 'objecthome',
    LIST: 'list',
    SEARCH: 'search',
    NEW_RECORD_MODAL: 'newRecord',
    FLOW: 'flow',
  });

  var params = new URLSearchParams(window.location.search);
  var targetOrigin = params.get('sfdcIframeOrigin');
  var mode = params.get('mode');

  // Why the library cannot talk to Salesforce, or null when it can.
  function initProblem() {
    if (!targetOrigin || !mode) {
      return 'The sfdcIframeOrigin and mode URL parameters are required; load the softphone through the Call Center adapter URL.';
    }
    var parsed;
    try {
      parsed = new URL(targetOrigin);
    } catch (e) {
      return 'sfdcIframeOrigin is not a URL: ' + targetOrigin;
    }
    if (parsed.origin !== targetOrigin) return 'sfdcIframeOrigin is not an origin: ' + targetOrigin;
    if (parsed.protocol !== window.location.protocol) {
      return 'The softphone page (' + window.location.protocol + ') and Salesforce (' + parsed.protocol +
        ') must use the same scheme; use an https adapter URL.';
    }
    if (window.parent === window) return 'The softphone page is not inside Salesforce (no parent frame).';
    return null;
  }

  var problem = initProblem();
  if (problem) console.error('Failed to initialize Open CTI. ' + problem);

  var nextCallId = 1;
  var pending = {}; // callId -> {callback, listener}

  function later(fn, value) {
    if (typeof fn === 'function') setTimeout(function () { fn(value); }, 0);
  }

  function invoke(methodName, arg) {
    var callback = arg && typeof arg === 'object' ? arg.callback : undefined;
    var listener = arg && typeof arg === 'object' ? arg.listener : undefined;
    if (problem) {
      later(callback, {
        success: false,
        returnValue: null,
        errors: [{ code: 'SOFTPHONE_CONTAINER_ERROR', description: 'Unable to execute sendPostMessage because the softphone container hasn\u2019t initialized yet.' }],
      });
      return;
    }
    var args = arg;
    if (arg && typeof arg === 'object' && !Array.isArray(arg)) {
      args = {};
      Object.keys(arg).forEach(function (k) {
        if (k !== 'callback' && k !== 'listener') args[k] = arg[k];
      });
    }
    var callId = String(nextCallId++);
    var entry = {
      callback: typeof callback === 'function' ? callback : null,
      listener: typeof listener === 'function' ? listener : null,
    };
    pending[callId] = entry;
    try {
      window.parent.postMessage({
        methodName: methodName,
        callId: callId,
        apiVersion: API_VERSION,
        apiType: API_TYPE,
        isCallbackRegistered: entry.callback !== null,
        isListenerRegistered: entry.listener !== null,
        args: args === undefined ? {} : args,
      }, targetOrigin);
    } catch (e) {
      // e.g. a function or DOM node inside the arguments (DataCloneError).
      delete pending[callId];
      later(entry.callback, {
        success: false,
        returnValue: null,
        errors: [{ code: 'GENERIC_ERROR', description: 'An error occurred while calling the API method: ' + e.message }],
      });
      return;
    }
    if (!entry.callback && !entry.listener) delete pending[callId];
  }

  window.addEventListener('message', function (event) {
    if (problem || event.origin !== targetOrigin || event.source !== window.parent) return;
    var d = event.data;
    if (!d || typeof d !== 'object' || d.apiVersion !== API_VERSION || d.apiType !== API_TYPE) return;
    var entry = Object.prototype.hasOwnProperty.call(pending, d.callId) ? pending[d.callId] : null;
    if (!entry) return;
    if (d.isListener) {
      if (entry.listener) entry.listener(d.response);
      return;
    }
    if (!entry.listener) delete pending[d.callId];
    if (entry.callback) {
      var entryCallback = entry.callback;
      entry.callback = null;
      entryCallback(d.response);
    }
  });

  [
    'notifyInitializationComplete',
    'enableClickToDial',
    'disableClickToDial',
    'onClickToDial',
    'searchAndScreenPop',
    'screenPop',
    'saveLog',
    'refreshView',
    'setSoftphonePanelVisibility',
    'isSoftphonePanelVisible',
    'setSoftphonePanelHeight',
    'setSoftphonePanelWidth',
    'setSoftphoneItemIcon',
    'setSoftphoneItemLabel',
    'setSoftphonePanelIcon',
    'setSoftphonePanelLabel',
    'getCallCenterSettings',
    'getSoftphoneLayout',
    'getAppViewInfo',
    'onNavigationChange',
    'runApex',
  ].forEach(function (name) {
    opencti[name] = function (arg) {
      invoke(name, arg);
    };
  });
})();
