import type { NetnsOwner } from './types.js';

/** The owner of the root netns (and of hostNetwork pods). */
export const HOST_OWNER: NetnsOwner = Object.freeze({ scope: 'host', namespace: null, pod: null, podUid: null });
/** A netns that is neither the host's nor a known pod's. */
export const NETNS_OWNER: NetnsOwner = Object.freeze({ scope: 'netns', namespace: null, pod: null, podUid: null });
