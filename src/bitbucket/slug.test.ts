import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRepositorySlug } from './slug.js';

describe('isRepositorySlug (Bitbucket Cloud, "What is a repository slug?")', () => {
  it('takes lower-case letters, digits, "_", "-" and ".", a first "_" or "." too', () => {
    for (const slug of ['web-app', 'a', 'docs_v2.site', '_private', '.dotfiles', 'x'.repeat(62), '---']) assert.equal(isRepositorySlug(slug), true, slug);
  });

  it('refuses a dash first, last or doubled (unless all dashes), upper case, other characters and more than 62', () => {
    for (const slug of ['', '-web', 'web-', 'web--app', 'Web-App', 'web app', 'wéb', 'x'.repeat(63)]) assert.equal(isRepositorySlug(slug), false, slug);
  });
});
