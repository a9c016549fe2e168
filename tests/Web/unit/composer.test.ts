import { describe, expect, it } from 'vitest';
import { isSendKey } from '../../../src/Web/src/client/Composer';

const key = (over: Partial<KeyboardEvent>) => ({
  key: 'Enter', shiftKey: false, isComposing: false, keyCode: 13, altKey: false, ctrlKey: false, metaKey: false, ...over,
}) as KeyboardEvent;

describe('composer Enter', () => {
  it('sends on a plain Enter', () => expect(isSendKey(key({}))).toBe(true));
  it('never sends while an IME composes (isComposing)', () => expect(isSendKey(key({ isComposing: true }))).toBe(false));
  it('never sends on keyCode 229 (IME processing)', () => expect(isSendKey(key({ keyCode: 229 }))).toBe(false));
  it('Shift+Enter is a new line', () => expect(isSendKey(key({ shiftKey: true }))).toBe(false));
  it('other keys do nothing', () => expect(isSendKey(key({ key: 'a', keyCode: 65 }))).toBe(false));
});
