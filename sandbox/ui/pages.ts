// The HTML of the sandbox's Bitbucket pages: the list of the app's pages and
// the settings page that frames one of them. Everything interpolated is
// escaped; the frame's configuration travels as inert JSON.

export interface PageLink {
  title: string;
  href: string;
}

const STYLESHEET = '<link rel="stylesheet" href="/__sandbox/frame.css">';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function layout(title: string, header: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${STYLESHEET}
</head>
<body>
<header class="bb-header">
<a class="bb-brand" href="/">Bitbucket <span class="bb-tag">Lifeboat sandbox</span></a>
${header}
</header>
${body}
</body>
</html>
`;
}

const links = (items: PageLink[]): string =>
  `<ul>${items.map((item) => `<li><a href="${escapeHtml(item.href)}">${escapeHtml(item.title)}</a></li>`).join('')}</ul>`;

export function renderIndex(input: { workspaceName: string; workspacePages: PageLink[]; repositoryPages: PageLink[]; scheduledTriggers: string[] }): string {
  // Forge runs scheduled triggers on their interval; these buttons run one now.
  const schedules = input.scheduledTriggers.map((key) =>
    `<li><form method="post" action="/__sandbox/scheduled/${encodeURIComponent(key)}"><button type="submit">Run ${escapeHtml(key)} now</button></form></li>`).join('');
  const body = `<main class="bb-index">
<h1>The app's pages in ${escapeHtml(input.workspaceName)}</h1>
<p>Bitbucket shows these settings pages with the app's Custom UI framed inside. Each page lets you switch the signed-in user.</p>
<h2>Workspace settings</h2>
${input.workspacePages.length ? links(input.workspacePages) : '<p>No workspace settings page.</p>'}
<h2>Repository settings</h2>
${input.repositoryPages.length ? links(input.repositoryPages) : '<p>No repository settings page, or no repository.</p>'}
${schedules ? `<h2>Scheduled triggers</h2><ul>${schedules}</ul>` : ''}
</main>`;
  return layout(`${input.workspaceName} – Bitbucket (Lifeboat sandbox)`, '', body);
}

export interface FramePage {
  title: string;
  /** Breadcrumbs after the brand: workspace, repository, "Repository settings", the page. */
  breadcrumbs: Array<{ text: string; href?: string }>;
  /** The settings menu the page sits in: its heading and the app's pages there. */
  menu: { heading: string; items: Array<PageLink & { current: boolean }> };
  users: Array<{ role: string; displayName: string; selected: boolean }>;
  /** The colour mode Bitbucket shows, and so the app's page when it enables theming. */
  colorMode: 'light' | 'dark';
  iframeSrc: string;
  /** Read by /__sandbox/frame.js. */
  config: unknown;
}

export function renderFrame(page: FramePage): string {
  const crumbs = page.breadcrumbs
    .map((crumb) => (crumb.href ? `<a href="${escapeHtml(crumb.href)}">${escapeHtml(crumb.text)}</a>` : `<span>${escapeHtml(crumb.text)}</span>`))
    .join(' <span class="bb-sep">/</span> ');
  const options = page.users
    .map((user) => `<option value="${escapeHtml(user.role)}"${user.selected ? ' selected' : ''}>${escapeHtml(`${user.displayName} (${user.role})`)}</option>`)
    .join('');
  const header = `<nav class="bb-crumbs">${crumbs}</nav>
<label class="bb-user">Theme <select id="lifeboat-theme-switch">${(['light', 'dark'] as const).map((mode) => `<option value="${mode}"${mode === page.colorMode ? ' selected' : ''}>${mode === 'light' ? 'Light' : 'Dark'}</option>`).join('')}</select></label>
<label class="bb-user">Signed in as <select id="lifeboat-user-switch">${options}</select></label>`;
  const menu = page.menu.items
    .map((item) => `<li${item.current ? ' class="current"' : ''}><a href="${escapeHtml(item.href)}">${escapeHtml(item.title)}</a></li>`)
    .join('');
  // "<" never appears raw, so the JSON cannot end its <script> element early.
  const config = JSON.stringify(page.config).replace(/</g, '\\u003c');
  const body = `<div class="bb-body">
<aside class="bb-menu"><h2>${escapeHtml(page.menu.heading)}</h2><ul>${menu}</ul></aside>
<main class="bb-main">
<iframe id="lifeboat-app-frame" title="${escapeHtml(page.title)}" src="${escapeHtml(page.iframeSrc)}"></iframe>
</main>
</div>
<script type="application/json" id="lifeboat-frame-config">${config}</script>
<script src="/__sandbox/frame.js"></script>`;
  return layout(`${page.title} – Bitbucket (Lifeboat sandbox)`, header, body);
}

export function renderProblem(title: string, message: string): string {
  return layout(title, '', `<main class="bb-index"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="/">All pages of the app</a></p></main>`);
}
