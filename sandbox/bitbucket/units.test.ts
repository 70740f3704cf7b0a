import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandScopes, missingScopes } from './auth.js';
import { BbqlError, parseBbql, sortItems, valuesAt } from './bbql.js';
import { createFaultKnobs, takeFault, takePushFault } from './faults.js';
import { applyFields } from './fields.js';
import { paginate } from './paging.js';
import { RateLimiter } from './ratelimit.js';
import { RouteAnswer } from './routes.js';
import { allForgeScopes, findOperation, matchTemplate, validateResponse, validateSchema } from './spec.js';

const items = [
  { name: 'main', size: 3, updated_on: '2026-10-05T09:00:00+00:00', project: { key: 'LB' }, reviewers: [{ nickname: 'bob' }], permission: 'admin' },
  { name: 'feature/Login', size: 10, updated_on: '2026-11-02T10:00:00+00:00', project: { key: 'LB' }, reviewers: [{ nickname: 'carol' }, { nickname: 'bob' }], permission: 'write' },
  { name: 'docs', size: 1, updated_on: '2026-11-20T10:00:00Z', project: { key: 'OPS' }, reviewers: [], permission: 'read' },
];
const names = (predicate: (item: unknown) => boolean): string[] => items.filter(predicate).map((item) => item.name);

describe('BBQL', () => {
  it('compares strings, numbers, dates and dotted fields', () => {
    assert.deepEqual(names(parseBbql('name = "main"')), ['main']);
    assert.deepEqual(names(parseBbql('name != "main"')), ['feature/Login', 'docs']);
    assert.deepEqual(names(parseBbql('name ~ "LOGIN"')), ['feature/Login']);
    assert.deepEqual(names(parseBbql('name !~ "o"')), ['main']);
    assert.deepEqual(names(parseBbql('size >= 3')), ['main', 'feature/Login']);
    assert.deepEqual(names(parseBbql('size < 3')), ['docs']);
    assert.deepEqual(names(parseBbql('project.key = "OPS"')), ['docs']);
    assert.deepEqual(names(parseBbql('updated_on > 2026-11-01T00:00:00+00:00')), ['feature/Login', 'docs']);
    assert.deepEqual(names(parseBbql('updated_on <= 2026-11-02')), ['main']);
    // Unquoted, as the spec's "Filter and sort" writes date times: an instant, whatever its offset notation.
    assert.deepEqual(names(parseBbql('updated_on > 2026-11-20T09:30:00.000Z')), ['docs']);
    assert.deepEqual(names(parseBbql('updated_on > 2026-11-20T11:00:00+02:00')), ['docs']);
    // Microseconds, as Bitbucket writes its own times, and UTC without an offset.
    assert.deepEqual(names(parseBbql('updated_on > 2026-11-20T09:59:59.999999')), ['docs']);
    assert.deepEqual(names(parseBbql('updated_on >= 2026-11-20T10:00:00.000001Z')), []);
  });

  it('takes strings in double quotes only, and refuses a quoted date time against a date-time field', () => {
    assert.throws(() => parseBbql("name = 'main'"), BbqlError);
    const quoted = parseBbql('updated_on > "2026-11-20T09:30:00.000Z"');
    assert.throws(() => items.filter(quoted), /updated_on is a date time: write "2026-11-20T09:30:00.000Z" unquoted/);
  });

  it('combines with and/or and parentheses, and or binds looser', () => {
    assert.deepEqual(names(parseBbql('project.key = "LB" and (size > 5 or name = "main")')), ['main', 'feature/Login']);
    assert.deepEqual(names(parseBbql('name = "docs" or project.key = "LB" and size > 5')), ['feature/Login', 'docs']);
    assert.deepEqual(names(parseBbql('(name = "docs" or project.key = "LB") and size > 5')), ['feature/Login']);
  });

  it('matches any element of an array on the path, and orders permissions by power', () => {
    assert.deepEqual(names(parseBbql('reviewers.nickname = "bob"')), ['main', 'feature/Login']);
    assert.deepEqual(names(parseBbql('permission > "read"')), ['main', 'feature/Login']);
    assert.deepEqual(valuesAt({ a: [{ b: [1, 2] }, { b: 3 }] }, 'a.b'), [1, 2, 3]);
  });

  it('refuses what it cannot read', () => {
    for (const query of ['name =', 'name = main', '= "x"', '(name = "x"', 'name = "x" nonsense', 'name = "unterminated', '']) {
      assert.throws(() => parseBbql(query), BbqlError, query);
    }
  });

  it('sorts ascending and descending with missing values last', () => {
    const rows = [{ n: 2 }, { n: 10 }, {}, { n: 1 }];
    assert.deepEqual(sortItems(rows, 'n').map((row) => (row as { n?: number }).n), [1, 2, 10, undefined]);
    assert.deepEqual(sortItems(rows, '-n').map((row) => (row as { n?: number }).n), [10, 2, 1, undefined]);
    assert.deepEqual(sortItems(items, '-updated_on').map((item) => item.name), ['docs', 'feature/Login', 'main']);
    assert.throws(() => sortItems(rows, 'bad field'), BbqlError);
  });
});

describe('fields=', () => {
  const page = { pagelen: 10, page: 1, size: 2, next: 'http://x/next', values: [{ id: 1, title: 't', links: { self: { href: 'a' } }, author: { uuid: 'u', name: 'n' } }, { id: 2, title: 'u', links: {}, author: { uuid: 'v', name: 'm' } }] };

  it('keeps only the listed paths, through arrays', () => {
    assert.deepEqual(applyFields(page, 'values.id,values.author.uuid,next'), { next: 'http://x/next', values: [{ id: 1, author: { uuid: 'u' } }, { id: 2, author: { uuid: 'v' } }] });
  });

  it('removes -paths from the full answer and accepts + and *', () => {
    assert.deepEqual(applyFields(page, '-values.links,-values.author,-next'), { pagelen: 10, page: 1, size: 2, values: [{ id: 1, title: 't' }, { id: 2, title: 'u' }] });
    assert.deepEqual(applyFields(page, '+values.title'), page);
    assert.deepEqual(applyFields({ a: { x: 1, y: 2 }, b: 3 }, 'a.*'), { a: { x: 1, y: 2 } });
    assert.deepEqual(applyFields({ a: { x: 1, y: 2 }, b: 3 }, 'a.x,+b'), { a: { x: 1 }, b: 3 });
  });
});

describe('paging', () => {
  const url = (query: string): URL => new URL(`http://127.0.0.1:1/2.0/things?${query}`);
  const list = Array.from({ length: 25 }, (_, index) => ({ id: index + 1 }));

  it('builds next/previous on the origin, keeping the other parameters', () => {
    const body = paginate(url('pagelen=10&page=2&q=id>0&state=A&state=B'), 'http://127.0.0.1:9', list).body as Record<string, unknown>;
    assert.equal(body.page, 2);
    assert.equal(body.size, 25);
    assert.deepEqual((body.values as Array<{ id: number }>).map((item) => item.id), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const next = new URL(body.next as string);
    assert.equal(next.origin, 'http://127.0.0.1:9');
    assert.equal(next.searchParams.get('page'), '3');
    assert.deepEqual(next.searchParams.getAll('state'), ['A', 'B']);
    assert.equal(next.searchParams.get('q'), 'id>0');
    assert.equal(new URL(body.previous as string).searchParams.get('page'), '1');
  });

  it('has no next on the last page and caps pagelen', () => {
    const last = paginate(url('page=3'), 'http://o', list).body as Record<string, unknown>;
    assert.equal(last.next, undefined);
    assert.equal((last.values as unknown[]).length, 5);
    assert.equal((paginate(url('pagelen=500'), 'http://o', list).body as Record<string, unknown>).pagelen, 100);
    assert.equal((paginate(url('pagelen=500'), 'http://o', list, { maxPagelen: 50 }).body as Record<string, unknown>).pagelen, 50);
    assert.equal((paginate(url(''), 'http://o', list).body as Record<string, unknown>).pagelen, 10);
  });

  it('answers 400 for a bad pagelen or query', () => {
    for (const query of ['pagelen=0', 'pagelen=abc', 'page=-1', 'q=name%20%3D']) {
      assert.throws(() => paginate(url(query), 'http://o', list), (error: unknown) => error instanceof RouteAnswer && error.response.status === 400, query);
    }
  });
});

describe('rate limiter', () => {
  it('allows the budget per key within a rolling window', () => {
    let now = 0;
    const limiter = new RateLimiter(3, 1000, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a').allowed), [true, true, true, false]);
    assert.equal(limiter.take('b').allowed, true);
    now = 999;
    assert.equal(limiter.take('a').allowed, false);
    now = 1000;
    const decision = limiter.take('a');
    assert.equal(decision.allowed, true);
    assert.equal(decision.remaining, 2);
    assert.equal(decision.nearLimit, false);
    limiter.take('a');
    assert.deepEqual(limiter.take('a'), { allowed: true, limit: 3, remaining: 0, nearLimit: true });
  });
});

describe('faults', () => {
  it('consumes storms first, then failures, then nothing', () => {
    const knobs = { ...createFaultKnobs(), rateLimitStorm: 1, failNext5xx: 2, failStatus: 503 as const };
    assert.deepEqual([takeFault(knobs), takeFault(knobs), takeFault(knobs), takeFault(knobs)], [{ kind: 'storm' }, { kind: 'fail', status: 503 }, { kind: 'fail', status: 503 }, undefined]);
  });

  it('starts a push outage after the chosen push, then clears itself', () => {
    const knobs = { ...createFaultKnobs(), pushOutage: { afterPushes: 1, requests: 2 } };
    // discovery, push (starts it), discovery and push fail, then all is well again
    assert.deepEqual([false, true, false, true, false].map((isPush) => takePushFault(knobs, isPush)), [false, false, true, true, false]);
    assert.equal(knobs.pushOutage, undefined);
  });
});

describe('scopes', () => {
  it('expands access-token scopes as Bitbucket implies them', () => {
    assert.deepEqual([...expandScopes(['pullrequest:write'])].sort(), ['pullrequest', 'pullrequest:write', 'repository', 'repository:write']);
    assert.deepEqual(missingScopes(['repository:admin'], ['repository']), ['repository']);
    assert.deepEqual(missingScopes(['repository:write'], ['repository']), []);
  });
});

describe('OpenAPI spec', () => {
  it('finds operations by template or concrete path, literal segments first', () => {
    // The spec copy predates the removal of Issues (2026-08-20): its issue paths still exercise the matcher.
    assert.equal(findOperation('get', '/2.0/repositories/{workspace}/{repo_slug}')?.template, '/2.0/repositories/{workspace}/{repo_slug}');
    assert.equal(matchTemplate('/2.0/repositories/ws/repo/issues/export')?.template, '/2.0/repositories/{workspace}/{repo_slug}/issues/export');
    assert.deepEqual(matchTemplate('/repositories/ws/repo/issues/7')?.params, { workspace: 'ws', repo_slug: 'repo', issue_id: '7' });
    assert.deepEqual(matchTemplate('/2.0/repositories/ws/web-app/issues/export/web-app-issues-4f2a.zip'), {
      template: '/2.0/repositories/{workspace}/{repo_slug}/issues/export/{repo_name}-issues-{task_id}.zip',
      params: { workspace: 'ws', repo_slug: 'web-app', repo_name: 'web-app', task_id: '4f2a' },
    });
    assert.equal(matchTemplate('/2.0/repositories/ws/r/refs/branches/feature%2Fx')?.params.name, 'feature/x');
    const issues = findOperation('GET', '/2.0/repositories/{workspace}/{repo_slug}/issues');
    assert.deepEqual(issues?.authTypes, ['api-token']);
    assert.deepEqual(issues?.tokenScopes, ['issue']);
    assert.ok(allForgeScopes().includes('read:repository:bitbucket'));
  });

  it('validates answers leniently but catches wrong shapes', () => {
    const repository = { type: 'repository', uuid: '{x}', full_name: 'a/b', is_private: true, created_on: '2026-10-05T09:00:00+00:00', links: { self: { href: 'http://127.0.0.1:1/x' } }, owner: { type: 'team', uuid: '{y}' }, parent: null };
    assert.deepEqual(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, repository), []);
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, { ...repository, is_private: 'yes' }).join(), /is_private: expected boolean/);
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, { ...repository, type: undefined }).join(), /"type" is missing/);
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, { ...repository, created_on: 'yesterday' }).join(), /not a date-time/);
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, { ...repository, links: { self: { href: '/relative' } } }).join(), /absolute URI/);
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, { ...repository, fork_policy: 'sometimes' }).join(), /not one of/);
    // Discriminator: an `account` whose type is "user" is checked as a user.
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 200, { ...repository, owner: { type: 'user', nickname: 7 } }).join(), /owner\.nickname: expected string/);
    assert.match(validateResponse('GET', '/2.0/nowhere', 200, {}).join(), /no operation/);
    assert.match(validateResponse('POST', '/2.0/repositories/{workspace}/{repo_slug}', 201, repository).join(), /not documented/);
    assert.deepEqual(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 418, { type: 'error', error: { message: 'teapot' } }), []);
    assert.match(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 404, { type: 'error' , error: {} }).join(), /"message" is missing/);
  });

  it('skips broken schemas instead of failing', () => {
    assert.deepEqual(validateSchema({ $ref: '#/definitions/does_not_exist' }, { anything: 1 }), []);
    assert.deepEqual(validateSchema({ type: 'string', pattern: '([' }, 'x'), []);
    assert.deepEqual(validateSchema({ allOf: 'not a list', properties: 5 } as unknown as Record<string, unknown>, { a: 1 }), []);
  });
});
