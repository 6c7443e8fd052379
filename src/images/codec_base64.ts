/** Base64 through the runtime's native `Uint8Array.fromBase64` / `toBase64` (fast, strict). */

interface NativeBase64 {
  fromBase64(text: string, options?: { lastChunkHandling?: "strict" }): Uint8Array;
}

/** Decodes base64 (ASCII whitespace is skipped); throws on anything else that is not base64. */
export function decodeBase64(text: string): Uint8Array {
  return (Uint8Array as unknown as NativeBase64).fromBase64(text, { lastChunkHandling: "strict" });
}

/** Decodes base64, or returns undefined when `text` is empty or not valid base64. */
export function tryDecodeBase64(text: string): Uint8Array | undefined {
  try {
    const bytes = decodeBase64(text);
    return bytes.length ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return (bytes as unknown as { toBase64(): string }).toBase64();
}
