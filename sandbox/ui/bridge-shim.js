// The sandbox's stand-in for the Custom UI bridge that Bitbucket puts into a
// Forge app's iframe. @forge/bridge looks up `globalThis.__bridge.callBridge`
// when its modules load, so the UI server injects this file as the first
// script of the page; the real @forge/bridge then runs unmodified on top of it.
// Every command is a message to the framing page (sandbox/ui/frame.js), which
// answers it as Bitbucket would.
/* global window, document, URL */
(() => {
  const SOURCE = 'lifeboat-sandbox-bridge';
  // The commands the framing page answers; anything else fails here, loudly. The names are
  // those @forge/bridge 7.x sends (its out/ files); the frame's answers follow the package's
  // declared result types, since Bitbucket's side of the bridge is not documented: assumed.
  const COMMANDS = new Set(['getContext', 'invoke', 'navigate', 'getUrl', 'open', 'reload', 'createHistory', 'enableTheming', '__permission__egressGet', '__permission__egressSet']);
  const pending = new Map();
  let nextId = 1;
  let history;

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (event.source !== window.parent || event.origin !== window.location.origin) return;
    if (!message || message.source !== SOURCE) return;
    if (message.event === 'history') {
      if (history) history.pop(message.path);
      return;
    }
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.ok) call.resolve(message.result);
    else call.reject(new Error(message.error && message.error.message ? message.error.message : `bridge command '${call.cmd}' failed`));
  });

  function post(cmd, payload) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { cmd, resolve, reject });
      window.parent.postMessage({ source: SOURCE, id, cmd, payload }, window.location.origin);
    });
  }

  // A history in the shape of the `history` package (v4) that @forge/bridge
  // declares: the app's own routes, which the framing page keeps in its URL so
  // that a reload and the browser's back button work as in Bitbucket.
  function createHistory(initialPath) {
    const listeners = new Set();
    const pathOf = (location) => `${location.pathname || '/'}${location.search || ''}${location.hash || ''}`;
    const toLocation = (path, state, from) => {
      const url = new URL(path, `http://app${from ? from.pathname : '/'}`);
      return { pathname: url.pathname, search: url.search, hash: url.hash, state: state === undefined ? null : state, key: Math.random().toString(36).slice(2, 8) };
    };
    const api = {
      action: 'POP',
      location: toLocation(initialPath),
      listen(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      push(to, state) {
        change('PUSH', to, state);
      },
      replace(to, state) {
        change('REPLACE', to, state);
      },
      go(delta) {
        void post('historyGo', { delta });
      },
      goBack() {
        api.go(-1);
      },
      goForward() {
        api.go(1);
      },
      createHref(location) {
        return pathOf(location);
      },
    };
    function settle(action, location) {
      api.action = action;
      api.location = location;
      for (const listener of [...listeners]) listener(location, action);
    }
    function change(action, to, state) {
      const location = typeof to === 'string'
        ? toLocation(to, state, api.location)
        : toLocation(pathOf(to), state === undefined ? to.state : state, api.location);
      void post('historyChange', { action, path: pathOf(location) });
      settle(action, location);
    }
    // The framing page reports back/forward in the top window.
    return { api, pop: (path) => settle('POP', toLocation(path)) };
  }

  // view.theme.enable(): Bitbucket puts its theme on the app's document, as
  // @atlaskit/tokens' setGlobalTheme does: attributes on <html> and one
  // <style data-theme="…"> per theme part in <head>.
  function applyTheme(theme) {
    const root = document.documentElement;
    for (const [name, value] of Object.entries(theme.attrs)) root.setAttribute(name, value);
    for (const style of theme.styles) {
      const id = style.attrs['data-theme'];
      const element = document.head.querySelector(`style[data-theme="${id}"]`) || document.head.appendChild(document.createElement('style'));
      for (const [name, value] of Object.entries(style.attrs)) element.setAttribute(name, value);
      element.textContent = style.css;
    }
  }

  window.__bridge = {
    callBridge(cmd, payload) {
      if (!COMMANDS.has(cmd)) {
        return Promise.reject(new Error(`The Lifeboat sandbox does not support the Custom UI bridge command '${cmd}'. Supported: ${[...COMMANDS].join(', ')}.`));
      }
      if (cmd === 'createHistory') {
        return post('createHistory').then((path) => {
          history = history || createHistory(path);
          return history.api;
        });
      }
      if (cmd === 'enableTheming') return post(cmd).then(applyTheme);
      return post(cmd, payload);
    },
  };
})();
