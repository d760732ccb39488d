// Types of scripts/build.mjs (plain JavaScript: it runs before anything can load TypeScript).
export declare const ROOT: string;
export interface BuildOptions {
  log?: (line: string) => void;
}
export declare function fingerprint(root?: string): string;
export declare function isFresh(root?: string): boolean;
export declare function build(root?: string, options?: BuildOptions): string;
export declare function ensureBuilt(root?: string, options?: BuildOptions): string;
