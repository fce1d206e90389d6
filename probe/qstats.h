/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDROP_QSTATS_H
#define KDROP_QSTATS_H
/* kdrop-probe --qstats (qstats.c): prints the netdev queue stats of this netns's devices; the exit status. */
int qstats_print(void);
#endif
