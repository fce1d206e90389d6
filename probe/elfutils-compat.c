// SPDX-License-Identifier: Apache-2.0
/*
 * elfutils 0.192 (Debian 13) ships a static libelf.a whose elf_begin/elf_end call eu_search_tree_init and
 * eu_search_tree_fini, but leaves out the object defining them (fixed upstream in 0.193). These weak
 * stand-ins let the loader link statically there; where libelf.a does not reference them (Debian 12's
 * 0.188) they are unused. libelf's tree is { void *root; <lock> } in memory it allocated zeroed, and a
 * zeroed lock is a valid unlocked one, so only the root needs handling.
 */
#define _GNU_SOURCE
#include <search.h>
#include <stddef.h>

struct kdrop_eu_tree {
	void *root;
};

void eu_search_tree_init(struct kdrop_eu_tree *tree) __attribute__((weak));
void eu_search_tree_fini(struct kdrop_eu_tree *tree, void (*free_node)(void *)) __attribute__((weak));

void eu_search_tree_init(struct kdrop_eu_tree *tree)
{
	tree->root = NULL;
}

void eu_search_tree_fini(struct kdrop_eu_tree *tree, void (*free_node)(void *))
{
	if (tree->root != NULL)
		tdestroy(tree->root, free_node);
	tree->root = NULL;
}
