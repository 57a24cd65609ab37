// Route templates: the local host must match exactly the paths Azure's host would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRoute } from '../../runtime/src/functions/routes';

describe('compileRoute', () => {
  const cases: Array<[route: string, path: string, matches: boolean]> = [
    ['api/ACIList', '/api/ACIList', true],
    ['api/ACIList', '/api/acilist', true],
    ['api/ACIList', '/api/ACIList/extra', false],
    ['api/ACIList', '/api', false],
    ['{ignored:maxlength(0)?}', '', true],
    ['{ignored:maxlength(0)?}', '/', true],
    ['{ignored:maxlength(0)?}', '/index.html', false],
    ['{ignored:maxlength(0)?}', '/api/ACIList', false],
    ['items/{id:int}', '/items/42', true],
    ['items/{id:int}', '/items/x', false],
    ['items/{id?}', '/items', true],
    ['files/{*rest}', '/files/a/b/c', true],
    ['api/openapi.json', '/api/openapi.json', true],
  ];
  for (const [route, path, matches] of cases) {
    it(`${matches ? 'serves' : 'does not serve'} '${path}' for '${route}'`, () => {
      assert.equal(compileRoute(route).matches(path), matches);
    });
  }

  it('documents the path a caller uses', () => {
    assert.equal(compileRoute('{ignored:maxlength(0)?}').documentedPath, '/');
    assert.equal(compileRoute('api/ACIList').documentedPath, '/api/ACIList');
    assert.equal(compileRoute('items/{id:int}').documentedPath, '/items/{id}');
  });

  it('refuses constraints it cannot honour, rather than disagree with Azure', () => {
    assert.throws(() => compileRoute('{x:regex(^a$)}'), /not supported/);
  });
});
