// The explorer page: GraphiQL (doc explorer, history) talking to this gateway over HTTP for
// queries and over graphql-ws for subscriptions. Bundled by build.ts; nothing is loaded from
// outside the gateway. Plain JavaScript: it runs in the browser, not under Node.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import examples from './examples.json' with { type: 'json' };

const httpUrl = new URL('/graphql', location.href).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');

// The headers from GraphiQL's headers editor, kept so the WebSocket uses them too.
let currentHeaders = {};
let wsClient = null;
let wsHeadersKey = '';

function wsClientFor(headers) {
  const key = JSON.stringify(headers);
  if (!wsClient || key !== wsHeadersKey) {
    if (wsClient) wsClient.dispose();
    wsHeadersKey = key;
    wsClient = createClient({ url: wsUrl, lazy: true, connectionParams: () => ({ headers: currentHeaders }) });
  }
  return wsClient;
}

function fetcher(params, opts) {
  currentHeaders = { ...(opts && opts.headers ? opts.headers : {}) };
  const inner = createGraphiQLFetcher({
    url: httpUrl,
    headers: currentHeaders,
    wsClient: wsClientFor(currentHeaders),
  });
  return inner(params, opts);
}

function App() {
  return React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    defaultHeaders: JSON.stringify({ Authorization: '' }, null, 2),
    shouldPersistHeaders: true,
    defaultTabs: examples.map((e) => ({ query: e.query, variables: e.variables ? JSON.stringify(e.variables, null, 2) : undefined })),
  });
}

createRoot(document.getElementById('graphiql')).render(React.createElement(App));
