// Types for scripts/check-orb.mjs, which tests import.
export interface OrbProblem {
  rule: string;
  where: string;
  message: string;
}
export declare const MAX_INLINE_COMMAND: number;
export declare function findSchema(start?: string): string;
export declare function validateSchema(doc: unknown, where?: string): OrbProblem[];
export declare function reviewOrb(orb: unknown, includedFiles?: Map<string, string>): OrbProblem[];
export declare function includedFiles(orb: unknown, srcDir: string): Map<string, string>;
export declare function checkOrb(options?: {
  orbFile?: string;
  srcDir?: string;
  schema?: boolean;
}): OrbProblem[];
