// Types of src/precompiled.js (plain JavaScript, loaded before any TypeScript).
export declare const DefaultCacheDir: URL;
export declare function cacheKey(source: string | Uint8Array): string;
export declare function usePrecompiled(cacheDir?: URL): void;
