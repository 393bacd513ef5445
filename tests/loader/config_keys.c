/* SPDX-License-Identifier: MIT */
/*
 * Prints every key the configuration parser accepts, one a line, from the
 * parser's own table, so that check_readme_keys.sh compares the README
 * with what the code accepts rather than with a copy of the list.
 */
#include <stdio.h>

#include "config.h"

int
main(void)
{
	int i;

	for (i = 0; i < KEY_COUNT; i++)
		if (puts(weft__config_key_name(i)) < 0)
			return 1;
	return 0;
}
