import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FORGE_ONLY = 'Only src/forge/ may import @forge/*.';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/.data/', '.data/', 'sandbox/.data/', 'static/*/build/', 'src/generated/recovery-bundle.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Type-only imports are erased: the sandbox may name the platform's types instead of copying them.
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['@forge/*'], message: FORGE_ONLY, allowTypeImports: true }] }],
    },
  },
  // Outside src/forge/ the app names nothing of the platform, not even its types: src/engine/ is the portable
  // core, src/app/ the platform-free services (they reach Forge only through src/forge/'s adapters).
  { files: ['src/**'], ignores: ['src/forge/**'], rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['@forge/*'], message: `${FORGE_ONLY} src/engine/ and src/app/ run without the platform: no @forge/*, not even types.` }] }] } },
  // The platform seam: the app's adapters, the sandbox's stand-ins for the same packages, and the pages' bridge calls.
  { files: ['src/forge/**', 'sandbox/forge/platform/**', 'sandbox/forge/fixtures/**', 'static/*/src/api.ts', 'static/shared/mount.tsx', 'static/shared/page-error.tsx'], rules: { '@typescript-eslint/no-restricted-imports': 'off' } },
);
