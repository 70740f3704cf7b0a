import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/.data/', '.data/', 'sandbox/.data/', 'static/*/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@forge/*'], message: 'Only src/forge/ may import @forge/*.' }] }],
    },
  },
  // The platform seam: the app's adapters, and the sandbox's stand-ins for the same packages.
  { files: ['src/forge/**', 'sandbox/forge/platform/**', 'sandbox/forge/fixtures/**', 'static/*/src/api.ts'], rules: { 'no-restricted-imports': 'off' } },
);
