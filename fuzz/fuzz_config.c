/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the configuration parser takes any bytes.  The input is
 * parsed as a configuration text (cut at its first NUL, as a C string
 * would be), then every key is read back, and weft_config_set is tried
 * with the input split into a key and a value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <weft/weft.h>

static const char *const keys[] = {
    "executor",
    "reactor",
    "workers",
    "plugin_path",
    "use_env",
    "blocking_threads",
    "allow_writable_plugins",
    "no_such_key",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_config *cfg;
	char err[256];
	char *text;
	char *eq;
	size_t i;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (weft_config_new(&cfg) < 0) {
		free(text);
		return 0;
	}
	weft_config_load_string(cfg, text, "fuzz", err, sizeof(err));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = weft_config_get(cfg, keys[i]);

		/* Touch every byte, so that a missing NUL is caught. */
		if (v)
			(void)strlen(v);
	}
	/* The same bytes through the one-key entry point. */
	eq = strchr(text, '=');
	if (eq) {
		*eq = '\0';
		weft_config_set(cfg, text, eq + 1, err, sizeof(err));
	}
	weft_config_free(cfg);
	free(text);
	return 0;
}
