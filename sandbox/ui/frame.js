// The framing page's half of the Custom UI bridge: what Bitbucket does for a
// Forge app's iframe. It answers the messages of sandbox/ui/bridge-shim.js from
// the context the UI server rendered into this page, and forwards resolver
// calls to the UI server, which decides identity and location itself.
/* global window, document, fetch, navigator, URL */
(() => {
  const SOURCE = 'lifeboat-sandbox-bridge';
  const config = JSON.parse(document.getElementById('lifeboat-frame-config').textContent);
  const iframe = document.getElementById('lifeboat-app-frame');
  // Bitbucket's own chrome follows the colour mode too (frame.css).
  document.documentElement.setAttribute('data-color-mode', config.colorMode);

  // Both switches reload the page the way Bitbucket does after a change of account or of theme.
  for (const [id, parameter] of [['lifeboat-user-switch', 'as'], ['lifeboat-theme-switch', 'theme']]) {
    document.getElementById(id).addEventListener('change', (event) => {
      const url = new URL(window.location.href);
      url.searchParams.set(parameter, event.target.value);
      window.location.assign(url.href);
    });
  }

  // The app's own route (view.createHistory) lives in this page's fragment.
  const appPath = () => window.location.hash.slice(1) || '/';

  function moduleUrl(moduleKey, path) {
    const module = config.modules.find((candidate) => candidate.key === moduleKey);
    if (!module) throw new Error(`This app has no page with the module key '${moduleKey}'.`);
    const workspace = encodeURIComponent(config.workspaceSlug);
    let pathname;
    if (module.type === 'bitbucket:workspaceSettingsMenuPage') pathname = `/${workspace}/workspace/settings/${encodeURIComponent(module.key)}`;
    else if (config.repositorySlug) pathname = `/${workspace}/${encodeURIComponent(config.repositorySlug)}/admin/${encodeURIComponent(module.key)}`;
    else throw new Error(`'${moduleKey}' is a repository page: it can only be reached from a repository.`);
    const url = new URL(pathname, window.location.origin);
    if (path) url.hash = path.startsWith('/') ? path : `/${path}`;
    return url;
  }

  function locationUrl(location) {
    if (location && location.target === 'module') return moduleUrl(location.moduleKey, location.path);
    throw new Error(`Bitbucket has no navigation target '${location && location.target}'; use a 'module' target or a URL.`);
  }

  // Bitbucket pages keep the signed-in user and the theme: in the sandbox, the `as` and `theme` parameters.
  function signedIn(url) {
    if (url.origin !== window.location.origin) return url;
    if (!url.searchParams.has('as')) url.searchParams.set('as', config.as);
    if (!url.searchParams.has('theme') && new URL(window.location.href).searchParams.has('theme')) url.searchParams.set('theme', config.colorMode);
    return url;
  }

  const handlers = {
    getContext: () => ({
      ...config.context,
      locale: navigator.language || 'en-US',
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    }),

    async invoke(call) {
      const response = await fetch('/__sandbox/invoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          moduleKey: config.moduleKey,
          functionKey: call && call.functionKey,
          payload: call && call.payload,
          as: config.as,
          repositorySlug: config.repositorySlug,
        }),
      });
      const answer = await response.json().catch(() => ({ ok: false, error: { message: `the sandbox answered HTTP ${response.status}` } }));
      // Forge rejects the page's invoke() with an Error that quotes the backend's message.
      if (!answer.ok) throw new Error(`There was an error invoking the function - ${answer.error.message}`);
      // With metadata asked for, the real bridge wraps the body (see @forge/bridge's invoke).
      return call.metadata ? { body: answer.body, metadata: {} } : answer.body;
    },

    getUrl: (location) => signedIn(locationUrl(location)).href,

    navigate(request) {
      const url = signedIn(typeof request.url === 'string' ? new URL(request.url, window.location.href) : locationUrl(request));
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`Refusing to navigate to a ${url.protocol} URL.`);
      // Bitbucket opens anything outside itself in a new tab, whatever the app asked.
      if (request.type === 'new-tab' || url.origin !== window.location.origin) window.open(url.href, '_blank', 'noopener,noreferrer');
      else window.location.assign(url.href);
    },

    // A settings page is not an openable view (modals are); @forge/bridge turns false into its own error.
    open: () => false,

    reload: () => window.location.reload(),

    // The colour mode is Bitbucket's (this page's), never the app's: the answer is the
    // theme as @atlaskit/tokens' setGlobalTheme would apply it, which the shim puts on the app's document.
    async enableTheming() {
      const response = await fetch(`/__sandbox/theme/${encodeURIComponent(config.colorMode)}.json`);
      if (!response.ok) throw new Error(`the sandbox has no ${config.colorMode} theme (HTTP ${response.status})`);
      return response.json();
    },

    createHistory: () => appPath(),

    historyChange({ action, path }) {
      const url = new URL(window.location.href);
      url.hash = path;
      if (action === 'PUSH') window.history.pushState(null, '', url.href);
      else window.history.replaceState(null, '', url.href);
    },

    historyGo: ({ delta }) => window.history.go(delta),

    // permissions.egress (customer-managed egress): the list as the site keeps it, and a
    // change only once the person at the page has allowed it in the site's own dialog.
    __permission__egressGet: (payload) => egress('get', payload),
    async __permission__egressSet(payload) {
      const domains = ((payload && payload.egresses) || []).flatMap((group) => (group.configured || []).map((entry) => entry.domain));
      if (!(await confirmEgress(domains))) throw new Error('The request to allow more domains was declined.');
      return egress('set', payload);
    },
  };

  async function egress(cmd, payload) {
    const response = await fetch('/__sandbox/egress', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cmd, as: config.as, payload }) });
    const answer = await response.json().catch(() => ({ ok: false, error: { message: `the sandbox answered HTTP ${response.status}` } }));
    if (!answer.ok) throw new Error(answer.error.message);
    return answer.result;
  }

  /** Bitbucket's consent for customer-managed egress: a dialog of the site, outside the app's frame. */
  function confirmEgress(domains) {
    return new Promise((resolve) => {
      const dialog = document.createElement('dialog');
      dialog.className = 'lifeboat-egress-consent';
      dialog.setAttribute('aria-labelledby', 'lifeboat-egress-title');
      const title = document.createElement('h2');
      title.id = 'lifeboat-egress-title';
      title.textContent = `Allow this app to send data to ${domains.join(', ')}?`;
      const text = document.createElement('p');
      text.textContent = 'As a workspace admin you decide which sites beyond those it declares an app may reach. You can remove this later in the app\'s settings.';
      const buttons = document.createElement('div');
      for (const [label, allowed] of [['Don\u2019t allow', false], ['Allow', true]]) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = label;
        button.addEventListener('click', () => { dialog.close(); dialog.remove(); resolve(allowed); });
        buttons.append(button);
      }
      dialog.addEventListener('cancel', () => { dialog.remove(); resolve(false); });
      dialog.append(title, text, buttons);
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  window.addEventListener('popstate', () => {
    iframe.contentWindow.postMessage({ source: SOURCE, event: 'history', path: appPath() }, window.location.origin);
  });

  window.addEventListener('message', async (event) => {
    const message = event.data;
    if (event.source !== iframe.contentWindow || event.origin !== window.location.origin) return;
    if (!message || message.source !== SOURCE || typeof message.id !== 'number') return;
    const reply = (answer) => event.source.postMessage({ source: SOURCE, id: message.id, ...answer }, event.origin);
    try {
      if (!Object.hasOwn(handlers, message.cmd)) throw new Error(`The Lifeboat sandbox does not support the Custom UI bridge command '${message.cmd}'.`);
      reply({ ok: true, result: await handlers[message.cmd](message.payload) });
    } catch (error) {
      reply({ ok: false, error: { message: error instanceof Error ? error.message : String(error) } });
    }
  });
})();
