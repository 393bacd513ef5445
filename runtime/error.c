/* SPDX-License-Identifier: MIT */
/*
 * Error texts: weft_strerror() for codes, weft__fail() for the sentences
 * that functions taking `char *err, size_t errlen` write.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *
weft_own_strerror(int code)
{
	switch (code) {
	case WEFT_ENOTSUP:
		return "Operation not supported by this implementation";
	case WEFT_ECLOSED:
		return "Runtime or channel is closed";
	case WEFT_ECANCELED:
		return "Task was canceled";
	case WEFT_ETIMEDOUT:
		return "Timeout elapsed";
	case WEFT_EABI:
		return "Incompatible weft ABI version or layout";
	case WEFT_EPLUGIN:
		return "Not a valid weft plugin";
	case WEFT_ECONFIG:
		return "Bad weft configuration";
	case WEFT_ELAGGED:
		return "Receiver lagged behind and missed messages";
	case WEFT_EBUSY:
		return "Resource busy (nested block_on?)";
	case WEFT_ETAKEN:
		return "Output already taken";
	default:
		return "Unknown weft error";
	}
}


WEFT_EXPORT const char *
weft_strerror(int code)
{
	const char *text;

	if (code == 0)
		return "Success";
	if (code > 0)
		return "Not an error code (positive value)";
	if (code <= -WEFT_EBASE)
		return weft_own_strerror(code);
	/*
	 * strerror() may write into a static buffer for unknown values and is
	 * therefore not thread-safe; strerrordesc_np() only ever returns
	 * constant strings, or NULL for values it does not know.
	 */
	text = strerrordesc_np(-code);
	return text ? text : "Unknown system error";
}


int
weft__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
