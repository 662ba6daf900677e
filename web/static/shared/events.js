// Server-sent events read with fetch(): the token goes in the Authorization header, never in a
// URL (EventSource cannot send headers). Reconnects with Last-Event-ID when the stream ends.
import {API} from './api.js';

export function openEventStream({api, session, locale, onEvent, onOpen, lastEventId = null, path = '/me/events'}) {
  let closed = false;
  // The stream's first block names the id it starts after; reconnecting with it (or with the
  // id of the last event heard) loses nothing that happened between two connections.
  let lastId = lastEventId;
  let opened = false;
  let retryMs = 2000;
  let controller = null;
  let failures = 0;

  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function dispatch(block) {
    const message = {event: 'message', data: [], id: null};
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') message.event = value;
      else if (name === 'data') message.data.push(value);
      else if (name === 'id') message.id = value;
      else if (name === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (message.id !== null) lastId = message.id;
    if (!message.data.length) return;
    let data = message.data.join('\n');
    try {
      data = JSON.parse(data);
    } catch {
      /* plain text data */
    }
    onEvent({event: message.event, id: message.id, data});
  }

  async function connect() {
    const headers = {Accept: 'text/event-stream', 'Accept-Language': locale()};
    const token = session.accessToken();
    if (!token) return 'stop';
    headers.Authorization = `Bearer ${token}`;
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    controller = new AbortController();
    const response = await fetch(`${API}${path}`, {headers, signal: controller.signal, cache: 'no-store'});
    if (response.status === 401) return (await api.refresh()) ? 'again' : 'stop';
    if (!response.ok || !response.body) return 'failed';
    failures = 0;
    if (onOpen) onOpen({first: !opened});
    opened = true;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true}).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    return 'ended';
  }

  (async () => {
    while (!closed) {
      let outcome;
      try {
        outcome = await connect();
      } catch {
        outcome = closed ? 'stop' : 'failed';
      }
      if (outcome === 'stop' || closed) break;
      if (outcome === 'failed') failures += 1;
      if (outcome !== 'again') await wait(outcome === 'failed' ? Math.min(30000, retryMs * 2 ** failures) : retryMs);
    }
  })();

  return {
    close() {
      closed = true;
      if (controller) controller.abort();
    },
  };
}
