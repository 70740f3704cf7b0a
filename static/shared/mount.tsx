// Both pages start the same way: Atlassian's CSS reset and the shared styles, Bitbucket's
// theme (light or dark, as the person chose in Bitbucket), then the page's App in #root.
import '@atlaskit/css-reset';
import { view } from '@forge/bridge';
import { StrictMode, type ComponentType } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';

export function mount(App: ComponentType): void {
  const root = document.getElementById('root');
  if (!root) throw new Error('index.html has no #root element');
  // Without a theme the tokens fall back to their light values: the page still works.
  view.theme.enable().catch((error: unknown) => console.warn('Lifeboat: Bitbucket did not apply its theme', error));
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
