// The pages' layout pieces, in Atlassian's primitives and xcss (design tokens, so light and dark
// follow Bitbucket): a panel of stacked parts, and text that says something in passing.
import { Box, Text, xcss } from '@atlaskit/primitives';
import type { ReactNode } from 'react';

const panelStyles = xcss({ display: 'flex', flexDirection: 'column', gap: 'space.150', marginBlock: 'space.300' });

/** A section of a page: its heading and parts, one under the other. */
export function Panel({ labelledBy, children }: { labelledBy: string; children: ReactNode }) {
  return <Box as="section" aria-labelledby={labelledBy} xcss={panelStyles}>{children}</Box>;
}

/** A remark beside or under the main thing. */
export function Subtle({ as = 'span', testId, children }: { as?: 'span' | 'p'; testId?: string; children: ReactNode }) {
  return <Text as={as} color="color.text.subtlest" {...(testId ? { testId } : {})}>{children}</Text>;
}
