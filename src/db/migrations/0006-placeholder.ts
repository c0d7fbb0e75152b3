import type { Migration } from './index.ts';

/**
 * Holds number 6 on the render branch only, so that 0007 applies in order: 6 belongs to another
 * branch's migration, which replaces this file when the branches merge.
 */
export const placeholder6: Migration = { version: 6, name: 'placeholder', sql: 'SELECT 1;' };
