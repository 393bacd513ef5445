# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by the checks.  In meson's valgrind setup (which sets
# WEFT_UNDER_VALGRIND and wraps only the script itself) the examples are
# run under Valgrind with the setup's options, so that the example, and
# not the shell, is what is checked.

# Under Valgrind only the epoll pairs run: the reactors' own paths are
# checked there by the conformance suite, the plain run has already
# compared every pair's output, and each example costs minutes under
# Valgrind.
if [ "${WEFT_UNDER_VALGRIND:-0}" = 1 ] && [ "${WEFT_REACTOR:-epoll}" != epoll ]; then
  echo "skipped under Valgrind: only the epoll pairs run there"
  exit 77
fi

# wrap PROGRAM ARGS...: sets the array `cmd` to the command that runs it.
wrap() {
  cmd=("$@")
  if [ "${WEFT_UNDER_VALGRIND:-0}" = 1 ]; then
    # shellcheck disable=SC2054 # the commas are in valgrind's options
    cmd=(valgrind --quiet --leak-check=full
      --show-leak-kinds=definite,indirect,possible
      --errors-for-leak-kinds=definite,indirect,possible
      --error-exitcode=99 --fair-sched=yes "$@")
  fi
}

# run PROGRAM ARGS...: runs it in the foreground, wrapped.
run() {
  wrap "$@"
  "${cmd[@]}"
}
