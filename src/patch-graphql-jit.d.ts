// Types of src/patch-graphql-jit.js (plain JavaScript, run at install by any Node).
/** Patch graphql-jit where `require` finds it from `from`: 'patched', 'already', or a warning (another version). */
export declare function patchGraphqlJit(from?: string): string;
/** Whether the installed graphql-jit carries the patch (both module formats). */
export declare function graphqlJitPatched(from?: string): boolean;
