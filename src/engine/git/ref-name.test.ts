import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { branchName, fullRefNames, isBranchRef, isTagRef, isValidRefName, refuseInvalidRefNames, tagName } from './ref-name.js';

const NAMES = [
  'refs/heads/main', 'refs/tags/v1.0', 'refs/heads/feature/login', 'refs/heads/ünïcødé/分支', 'refs/notes/commits',
  'refs/heads/a.b', 'refs/heads/a-lock', 'refs/heads/x.locked', 'refs/heads/@', 'refs/heads/a@b', 'refs/heads/a{b}',
  'refs/heads/evil[1]', 'refs/heads/../../../../tmp/escape', 'refs/heads/x.lock', 'refs/heads/x.lock/y', 'refs/heads/.hidden',
  'refs/heads/a/.b', 'refs/heads/a..b', 'refs/heads/a//b', 'refs/heads/a/', 'refs/heads/a.', 'refs/heads/a@{1}',
  'refs/heads/a b', 'refs/heads/a\tb', 'refs/heads/a\nb', 'refs/heads/a\x7fb', 'refs/heads/a~1', 'refs/heads/a^', 'refs/heads/a:b',
  'refs/heads/a?', 'refs/heads/a*', 'refs/heads/a\\b', 'refs/', 'refs//heads/a',
];

describe('ref names', () => {
  it('agree with git check-ref-format for every name under refs/', () => {
    for (const name of NAMES) {
      const git = spawnSync('git', ['check-ref-format', name]).status === 0;
      assert.equal(isValidRefName(name), git, `${JSON.stringify(name)}: git says ${git ? 'valid' : 'invalid'}`);
    }
  });

  it('are full names: HEAD, a short name or a leading slash are not', () => {
    for (const name of ['HEAD', 'main', 'heads/main', '/refs/heads/main', '']) assert.equal(isValidRefName(name), false, name);
  });

  it('a listing with names git refuses is refused, naming each of them once', () => {
    assert.doesNotThrow(() => refuseInvalidRefNames(['refs/heads/main', 'refs/tags/v1'], 'server'));
    assert.throws(() => refuseInvalidRefNames(['refs/heads/main', 'refs/heads/x.lock', 'refs/heads/evil[1]', 'refs/heads/x.lock'], 'http://git.example/r.git'), (error) => {
      assert.ok(isLifeboatError(error, 'GIT_REF_INVALID'));
      assert.deepEqual(error.details, { refs: ['refs/heads/x.lock', 'refs/heads/evil[1]'], count: 2 });
      assert.match(error.message, /^http:\/\/git\.example\/r\.git lists ref names that git refuses: "refs\/heads\/x\.lock", "refs\/heads\/evil\[1\]"\. Nothing was backed up/);
      return true;
    });
  });
});

describe('short and full ref names', () => {
  it('tells branches from tags and gives a branch its short name', () => {
    assert.equal(isBranchRef('refs/heads/feature/login'), true);
    assert.equal(isBranchRef('refs/tags/v1'), false);
    assert.equal(isTagRef('refs/tags/v1'), true);
    assert.equal(isTagRef('refs/notes/commits'), false);
    assert.equal(branchName('refs/heads/feature/login'), 'feature/login');
    assert.equal(branchName('refs/tags/v1'), undefined);
    assert.equal(branchName(undefined), undefined);
    assert.equal(tagName('refs/tags/release/1.0'), 'release/1.0');
    assert.equal(tagName('refs/heads/main'), undefined);
  });

  it('a short name stands for the branch, then the tag; only the tag when it is one', () => {
    assert.deepEqual(fullRefNames('release/1'), ['refs/heads/release/1', 'refs/tags/release/1']);
    assert.deepEqual(fullRefNames('v1', 'tag'), ['refs/tags/v1']);
  });
});
