/* SPDX-License-Identifier: MIT */
/* The same header build test, compiled as C++. */
#include "abi-header.c"
