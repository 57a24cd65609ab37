// Text that goes into a table row from somewhere else (ARM's messages): bounded, so it always fits.

/** `text` cut to at most `max` characters, an ellipsis marking the cut. */
export const truncate = (text: string | undefined, max: number): string | undefined =>
  text && text.length > max ? `${text.slice(0, max - 1)}…` : text;
