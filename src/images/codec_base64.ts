/** Base64 through the runtime's native `Uint8Array.fromBase64` / `toBase64` (fast, no copies in JS). */

interface NativeBase64 {
  fromBase64(text: string, options?: { lastChunkHandling?: "strict" }): Uint8Array;
}

/** Decodes base64; throws on malformed input. */
export function decodeBase64(text: string): Uint8Array {
  return (Uint8Array as unknown as NativeBase64).fromBase64(text, { lastChunkHandling: "strict" });
}

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return (bytes as unknown as { toBase64(): string }).toBase64();
}
