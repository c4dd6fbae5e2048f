// The explorer page: GraphiQL (doc explorer, history) talking to this gateway over HTTP for
// queries and over graphql-ws for subscriptions. Bundled by build.ts; nothing is loaded from
// outside the gateway. Plain JavaScript: it runs in the browser, not under Node.
//
// Headers are one set for the whole page, not one per tab: what the user types in the headers
// editor of any tab (an Authorization header, typically) goes with every request after it:
// queries over HTTP, the schema fetch (fetched again when the headers change), and the
// WebSocket, whose connection_init payload is the headers object itself, as GraphiQL's own
// subscriptionUrl fetcher sends it ({"Authorization": "Bearer ..."}). Headers with an empty
// value are not sent, so the `"Authorization": ""` placeholder sends nothing.
//
// While the gateway answers 401 (it runs with `--auth kubernetes` and got no token, or one it
// did not accept), a notice under the result says where the token goes.
import React, { useEffect, useRef, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { useEditorContext, useSchemaStore } from '@graphiql/react';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { parse } from 'graphql';
import examples from './examples.json' with { type: 'json' };

const httpUrl = new URL('/graphql', location.href).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');

/** The headers editor's text as the user last typed it, in any tab; null until they type. */
let typedHeaders = null;
/** usableHeaders key of the headers the last schema fetch went with. */
let introspectedWith = null;
let wsClient = null;
let wsClientHeaders = '';
/** Whether the gateway's last HTTP answer was 401; TokenNotice shows it. */
let tokenRefused = false;
const tokenRefusedListeners = new Set();

function fetcher(params, opts) {
  const headers = usableHeaders(opts && opts.headers ? opts.headers : parseHeaders(typedHeaders));
  const inner = createGraphiQLFetcher({ url: httpUrl, wsClient: wsClientFor(headers), fetch: observedFetch });
  if (params.operationName === 'IntrospectionQuery') {
    introspectedWith = JSON.stringify(headers);
    return inner(params, { ...opts, headers });
  }
  const current = currentOperation(params);
  return inner(current.params, { ...opts, headers, ...(current.documentAST ? { documentAST: current.documentAST } : {}) });
}

/**
 * GraphiQL parses the query editor 100 ms after the last edit, so Run sooner (a paste, then
 * Ctrl+Enter) sends the new text with the previous text's operation name and document: a name
 * the new text lacks (400), or a subscription sent over HTTP. The text as sent is parsed here:
 * with one operation in it, that operation's name (none when anonymous) replaces a name the
 * text lacks; unparsable text and documents of several operations are left as they are.
 */
function currentOperation(params) {
  let documentAST;
  try {
    documentAST = parse(params.query);
  } catch {
    return { params, documentAST: null };
  }
  const names = documentAST.definitions.filter((d) => d.kind === 'OperationDefinition').map((d) => (d.name ? d.name.value : null));
  const asked = params.operationName || null;
  if (names.length === 1 && !names.includes(asked)) return { params: { ...params, operationName: names[0] ?? undefined }, documentAST };
  return { params, documentAST };
}

/**
 * Keeps the headers editor of every tab showing what the user typed last, and fetches the
 * schema again once the typing stops if the headers it would send changed.
 */
function SharedHeaders() {
  const { headerEditor, activeTabIndex } = useEditorContext({ nonNull: true });
  const introspect = useSchemaStore((s) => s.introspect);
  useEffect(() => {
    if (!headerEditor) return undefined;
    let timer;
    const onChange = (editor, change) => {
      // GraphiQL itself calls setValue when it switches tabs; only the user's edits count.
      if (!change || change.origin === 'setValue') return;
      typedHeaders = editor.getValue();
      clearTimeout(timer);
      timer = setTimeout(() => {
        const parsed = parseHeaders(typedHeaders);
        if (parsed && JSON.stringify(usableHeaders(parsed)) !== introspectedWith) void introspect();
      }, 500);
    };
    headerEditor.on('change', onChange);
    return () => {
      headerEditor.off('change', onChange);
      clearTimeout(timer);
    };
  }, [headerEditor, introspect]);
  useEffect(() => {
    if (headerEditor && typedHeaders !== null && headerEditor.getValue() !== typedHeaders) headerEditor.setValue(typedHeaders);
  }, [headerEditor, activeTabIndex]);
  return null;
}

/**
 * GraphiQL 4 starts the first tab with an empty variables editor, whatever the tab holds
 * (EditorContextProvider takes initial variables from props or storage only): fill it in.
 */
function FirstTabVariables() {
  const { variableEditor, tabs, activeTabIndex } = useEditorContext({ nonNull: true });
  useEffect(() => {
    const held = tabs[activeTabIndex] && tabs[activeTabIndex].variables;
    if (variableEditor && held && variableEditor.getValue() === '') variableEditor.setValue(held);
    // Once, when the editor appears: later the tabs keep their variables themselves.
  }, [variableEditor]);
  return null;
}

/**
 * GraphiQL shows a failed schema fetch in the result pane and leaves it there after a later
 * fetch succeeds (once a token is typed, say): clear it then, unless the pane shows something
 * else by now.
 */
function ClearSchemaFetchError() {
  const { responseEditor } = useEditorContext({ nonNull: true });
  const fetchError = useSchemaStore((s) => s.fetchError);
  const schema = useSchemaStore((s) => s.schema);
  const failure = useRef(null);
  useEffect(() => {
    if (fetchError) failure.current = fetchError;
  }, [fetchError]);
  useEffect(() => {
    if (!schema || !responseEditor || failure.current === null) return;
    if (responseEditor.getValue() === failure.current) responseEditor.setValue('');
    failure.current = null;
  }, [schema, responseEditor]);
  return null;
}

/** Under the result, while the gateway refuses the page's token (or its lack of one). */
function TokenNotice() {
  const refused = useSyncExternalStore(
    (listener) => {
      tokenRefusedListeners.add(listener);
      return () => tokenRefusedListeners.delete(listener);
    },
    () => tokenRefused,
  );
  if (!refused) return null;
  return React.createElement(
    'div',
    { role: 'status', className: 'netgraph-token-notice', style: { padding: '8px 12px', fontSize: '14px' } },
    'This gateway needs a bearer token: set ',
    React.createElement('code', null, '{"Authorization": "Bearer TOKEN"}'),
    ' in the Headers tab.',
  );
}

function App() {
  return React.createElement(
    GraphiQL,
    {
      fetcher,
      defaultEditorToolsVisibility: 'variables',
      defaultHeaders: JSON.stringify({ Authorization: '' }, null, 2),
      // One tab per example; GraphiQL titles each with its operation name.
      defaultTabs: examples.map((e) => ({ query: e.query, variables: e.variables ? JSON.stringify(e.variables, null, 2) : undefined })),
    },
    React.createElement(SharedHeaders),
    React.createElement(FirstTabVariables),
    React.createElement(ClearSchemaFetchError),
    React.createElement(GraphiQL.Footer, null, React.createElement(TokenNotice)),
  );
}

createRoot(document.getElementById('graphiql')).render(React.createElement(App));

// Private:

/** fetch, noting whether the gateway answered 401 (schema fetch and queries alike). */
async function observedFetch(url, init) {
  const res = await fetch(url, init);
  const refused = res.status === 401;
  if (refused !== tokenRefused) {
    tokenRefused = refused;
    for (const listener of tokenRefusedListeners) listener();
  }
  return res;
}

/** One client per set of headers: its connection_init payload is those headers. */
function wsClientFor(headers) {
  const key = JSON.stringify(headers);
  if (!wsClient || key !== wsClientHeaders) {
    if (wsClient) void wsClient.dispose();
    wsClientHeaders = key;
    wsClient = createClient({ url: wsUrl, lazy: true, connectionParams: { ...headers } });
  }
  return wsClient;
}

/** The headers editor's text as an object; null when it is not a JSON object. */
function parseHeaders(text) {
  if (text === null || text.trim() === '') return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** The headers worth sending: string values that are not empty, sorted by name. */
function usableHeaders(headers) {
  const out = {};
  for (const name of Object.keys(headers || {}).sort()) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim() !== '') out[name] = value;
  }
  return out;
}
