// Types for scripts/pack-orb.mjs, which tests import.
export declare const ORB_SRC: string;
export declare const ORB_FILE: string;
export declare const CLI_PIECES_DIR: string;
export declare const PART_SIZE: number;
export declare const PART_SLOTS: number;
export declare class OrbPackError extends Error {}
export interface CliPieces {
  sha256: string;
  bundleBytes: number;
  gzipBytes: number;
  base64Chars: number;
  parts: string[];
}
export declare function cliPieces(cliText: string): CliPieces;
export declare function decodeCliPieces(parts: string[]): string;
export declare function cliPieceFiles(cliText: string): Map<string, string>;
export declare function resolveIncludes(value: unknown, srcDir: string, where?: string): unknown;
export declare function packOrb(
  srcDir?: string,
  options?: { includes?: boolean },
): Record<string, unknown>;
export declare function stringifyOrb(orb: unknown): string;
export declare function packOrbFiles(options?: { check?: boolean; cli?: string }): string[];
export declare function packAfterBuild(options: { check: boolean; cli?: string }): boolean;
export declare function parameterTables(orb: Record<string, unknown>): string;
