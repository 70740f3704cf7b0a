// Labelled fields with their help and their error, the way Atlaskit's forms show them.
import { ErrorMessage, Fieldset, HelperMessage, Label } from '@atlaskit/form';
import { Box, Stack, xcss } from '@atlaskit/primitives';
import { RadioGroup } from '@atlaskit/radio';
import Textfield from '@atlaskit/textfield';
import type { ReactNode } from 'react';

interface FieldProps {
  id: string;
  label: string;
  helper?: ReactNode;
  error?: string | undefined;
}

function Messages({ id, helper, error }: Omit<FieldProps, 'label'>) {
  return (
    <>
      {helper && <HelperMessage testId={`${id}-helper`}><span id={`${id}-helper`}>{helper}</span></HelperMessage>}
      {error && <ErrorMessage testId={`${id}-error`}><span id={`${id}-error`}>{error}</span></ErrorMessage>}
    </>
  );
}

const describedBy = ({ id, helper, error }: FieldProps): string | undefined =>
  [helper ? `${id}-helper` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

export function TextField(props: FieldProps & { value: string; onChange: (value: string) => void; type?: 'text' | 'password' | 'number' | 'email' | 'date'; placeholder?: string; isRequired?: boolean; width?: number }) {
  const { id, label, value, onChange, type = 'text', placeholder, isRequired, error, width } = props;
  return (
    <Stack space="space.050">
      <Label htmlFor={id}>{label}</Label>
      <Textfield
        id={id}
        name={id}
        type={type}
        value={value}
        onChange={(event) => onChange(event.currentTarget.value)}
        isInvalid={Boolean(error)}
        {...(isRequired ? { isRequired } : {})}
        {...(placeholder ? { placeholder } : {})}
        {...(width ? { width } : {})}
        autoComplete={type === 'password' ? 'new-password' : 'off'}
        aria-describedby={describedBy(props)}
      />
      <Messages {...props} />
    </Stack>
  );
}

export function RadioField<V extends string>(props: FieldProps & { value: V; options: ReadonlyArray<{ value: V; label: string }>; onChange: (value: V) => void }) {
  const { id, label, value, options, onChange } = props;
  return (
    <Fieldset legend={label}>
      <RadioGroup
        name={id}
        value={value}
        options={options.map((option) => ({ ...option, name: id }))}
        onChange={(event) => onChange(event.currentTarget.value as V)}
      />
      <Messages {...props} />
    </Fieldset>
  );
}

const codeStyles = xcss({ backgroundColor: 'color.background.neutral', padding: 'space.100', borderRadius: 'radius.small', overflowX: 'auto' });

/** A command to copy, as a block. */
export function Command({ children }: { children: string }) {
  return (
    <Box xcss={codeStyles}>
      <code>{children}</code>
    </Box>
  );
}
