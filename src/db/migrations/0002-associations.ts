import type { Migration } from './index.ts';

/**
 * Placeholder on the `queue` branch only: the associations migration (version 2) is being written in
 * parallel and replaces this file at merge.
 */
export const associations: Migration = {
  version: 2,
  name: 'associations',
  sql: '',
};
