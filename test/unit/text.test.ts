// truncate (runtime/src/domain/core/text.ts): what goes into a row from elsewhere always fits, and stays valid text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { truncate } from '../../runtime/src/domain/core/text';

describe('truncate', () => {
  it('keeps short text as it is, and cuts long text to the limit with an ellipsis', () => {
    assert.equal(truncate('short', 10), 'short');
    assert.equal(truncate(undefined, 10), undefined);
    assert.equal(truncate('x'.repeat(20), 10), `${'x'.repeat(9)}…`);
  });

  it('never leaves half of a surrogate pair (an emoji) at the cut', () => {
    for (let offset = 0; offset < 4; offset++) {
      const cut = truncate(`${'x'.repeat(offset)}${'🎮'.repeat(20)}`, 11)!;
      assert.ok(cut.length <= 11, cut);
      assert.doesNotMatch(cut, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/, `${offset}: a lone high surrogate`);
    }
  });
});
