// Text that goes into a table row from somewhere else (ARM's messages): bounded, so it always fits.

/** `text` cut to at most `max` UTF-16 units, an ellipsis marking the cut, never inside a surrogate pair. */
export function truncate(text: string | undefined, max: number): string | undefined {
  if (!text || text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // the first half of a pair: leave the pair out
  return `${text.slice(0, end)}…`;
}
