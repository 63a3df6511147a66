import { ManifestParseError } from '../errors.js';

// Edits splice text; a file that is not UTF-8 cannot be decoded and re-encoded without rewriting
// its other bytes (as U+FFFD), so it is refused instead. A BOM is kept as text.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of a UTF-8 buffer, or the byte offset of the first byte that is not UTF-8. */
function decodeUtf8(bytes: Uint8Array): { text: string } | { badByte: number } {
  try {
    return { text: decoder.decode(bytes) };
  } catch {
    return { badByte: firstInvalidByte(bytes) };
  }
}

function firstInvalidByte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let min = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (n >= 2 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) return i;
    i += n + 1;
  }
  return b.length;
}

/**
 * The text of a manifest file's bytes; ManifestParseError (file:line) when they are not UTF-8.
 * Every reader (local files, a git checkout, an API) decodes through here, so none rewrites them.
 */
export function decodeManifestText(bytes: Uint8Array, file: string): string {
  const decoded = decodeUtf8(bytes);
  if ('text' in decoded) return decoded.text;
  const at = decoded.badByte;
  const byte =
    bytes[at] === undefined ? 'end of file' : `byte 0x${bytes[at]!.toString(16).padStart(2, '0')}`;
  throw new ManifestParseError(
    `not UTF-8 text (${byte} at offset ${at}); gitops-release edits UTF-8 files only, so that the bytes it does not edit stay as they are: convert the file to UTF-8`,
    { file, line: lineOfByte(bytes, at) },
  );
}

/** 1-based line of a byte offset. */
function lineOfByte(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < b.length; i++) if (b[i] === 0x0a) line++;
  return line;
}
