// Types for scripts/build-packages.mjs, which tests import.
export declare const LIBRARIES: readonly string[];
export declare const PUBLIC_PACKAGES: readonly string[];
