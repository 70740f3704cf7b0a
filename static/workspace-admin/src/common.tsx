// What every view of the page shares: loading (the data layer and the job renderer are both pages', in static/shared).
import Spinner from '@atlaskit/spinner';
import { Inline, Text } from '@atlaskit/primitives';

export function Loading({ label }: { label: string }) {
  return (
    <Inline space="space.100" alignBlock="center">
      <Spinner size="small" label={label} />
      <Text>{label}</Text>
    </Inline>
  );
}
