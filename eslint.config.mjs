// ESLint: JavaScript's and typescript-eslint's recommended rules, plus the
// few habits of STYLE.md a machine can check. Layout is Prettier's
// (.prettierrc.json); the layering is scripts/check-imports.cjs's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const config = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'api/gen/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused names are mistakes, except a deliberate _name.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // STYLE.md: no default exports; `any` only where a test must build a malformed value.
      // A `let` assigned once but read earlier by a closure (a timer, a watch handle) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // One import statement per module (a type-only one may stand beside it).
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'no default exports (STYLE.md)' }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

// ESLint reads the configuration from the default export (the one exception to STYLE.md).
// eslint-disable-next-line no-restricted-syntax
export default config;
