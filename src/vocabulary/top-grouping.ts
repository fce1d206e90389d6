/** How `kdrop top` groups and sorts its rows: shared by its settings (config/) and its model (top/). */

export const GROUP_BYS = ['pod', 'namespace', 'reason', 'function', 'netns', 'node'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const SORT_BYS = ['rate', 'total'] as const;
export type SortBy = (typeof SORT_BYS)[number];
