/** Cut text to at most `maxBytes` UTF-8 bytes (ellipsis included) on a character boundary. */

const ELLIPSIS = '…'; // 3 bytes in UTF-8

export function truncateUtf8(text: string, maxBytes: number): string {
  // Fast path: even at 3 bytes per UTF-16 unit it fits.
  if (text.length * 3 <= maxBytes) return text;
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes - 3);
  // Step back over continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end) + ELLIPSIS;
}
