/* SPDX-License-Identifier: MIT */
/*
 * A short title for every rule of ABI.md, for the summary table and
 * --list.  The rules check compares this table with ABI.md, so a rule
 * added there without a title (or a test) fails the build's tests.
 */
#include <string.h>

#include "runner.h"

static const struct r_rule rules[] = {
    {"W1", "waker methods work from any thread, concurrently"},
    {"W2", "waking a finished task is harmless"},
    {"W3", "wakes before the next poll coalesce"},
    {"W4", "a wake during a poll is never lost"},
    {"W5", "every waker clone is released exactly once"},
    {"W6", "wakers stay usable after the runtime is closed"},
    {"F1", "every future is dropped exactly once"},
    {"F2", "never polled again after ready"},
    {"F3", "a pending future has arranged a wake"},
    {"F4", "drop keeps the output bytes readable"},
    {"F5", "spawn copies exactly vtable->size bytes"},
    {"F6", "the output sits at output_offset"},
    {"F7", "a future stays put from its first poll"},
    {"C1", "the context is complete and valid for the poll"},
    {"C2", "no globals: two runtimes side by side"},
    {"C3", "cx->size covers the 1.0 context"},
    {"C4", "a cooperative budget of 128 per poll"},
    {"E1", "one task is never polled on two threads at once"},
    {"E2", "spawn consumes the future even when it fails"},
    {"E3", "spawn from any thread and from inside a poll"},
    {"E4", "block_on polls in place; EBUSY nested; ECLOSED after"},
    {"E5", "shutdown drops every spawned future once"},
    {"E6", "abort drops the future once, unpolled"},
    {"E7", "a self-waking task starves nothing"},
    {"E8", "all wakers of a task compare equal"},
    {"E9", "stats are optional, bounded and monotonic"},
    {"E10", "the MULTI_THREAD flag tells the truth"},
    {"E11", "completed counts completed tasks or is left zero"},
    {"E12", "worker_stats are optional, bounded and monotonic"},
    {"E13", "DETERMINISTIC: same seed, same order of polls"},
    {"T1", "a join handle reports completion once"},
    {"T2", "a short join buffer is EMSGSIZE, output kept"},
    {"T3", "a released join handle detaches the task"},
    {"T4", "abort is idempotent; after completion a no-op"},
    {"T5", "completion wakes the join awaiter"},
    {"T6", "task ids: 1, 2, 3... in spawn order, never reused"},
    {"R1", "wait fills at most capacity and never calls back"},
    {"R2", "readiness reported for the registered fd and token"},
    {"R3", "wait never returns before its timeout; 0 never blocks"},
    {"R4", "wakeup ends a concurrent or the next wait"},
    {"R5", "CONCURRENT_CTL: control takes effect in the wait"},
    {"R6", "no event for an fd after its del"},
    {"R7", "flags claim exactly one of EDGE and LEVEL"},
    {"R8", "level: reported at every wait while ready"},
    {"R9", "edge: reported once per edge"},
    {"R10", "instances are independent"},
    {"R11", "EEXIST, EBADF, EPERM, ENOENT from add/modify/del"},
    {"R12", "CLOCK: time jumps in wait and moves by advance"},
    {"R13", "COMPLETION: each op completes once, with its result"},
    {"R14", "submit never blocks; the next wait starts the op"},
    {"R15", "cancel: one final completion; ENOENT when none"},
    {"R16", "buffers are lent until the final completion or fini"},
    {"D1", "now() is monotonic, in real (or reactor) ns"},
    {"D2", "timers never fire early"},
    {"D3", "io_poll is ready or stores the waker"},
    {"D4", "io_del invalidates pending batch events"},
    {"D5", "del drops stored wakers unwoken"},
    {"D6", "timeout: ETIMEDOUT no earlier than its duration"},
    {"D7", "blocking runs on the pool, then wakes"},
    {"D8", "clock_advance fires due timers, or ENOTSUP"},
    {"D9", "fault is 0 when faults are off, seeded when on"},
    {"D10", "op_submit: ENOTSUP, or one result per op, data copied"},
    {"D11", "op_del cancels, drops the waker, frees at the final"},
    {"P1", "one exported symbol: the entry"},
    {"P2", "descriptor: version, magic, name, interface"},
    {"P3", "version negotiation in both directions"},
    {"P4", "the layout signature matches the host's"},
    {"P5", "abi_major is 1 and the kind matches the role"},
    {"P6", "interface version, size and required methods"},
    {"P7", "1.x layouts and constants are frozen"},
    {"P8", "settings: only with params version 2, ECONFIG"},
};


size_t
r_rule_count(void)
{
	return sizeof(rules) / sizeof(rules[0]);
}


const struct r_rule *
r_rule_at(size_t i)
{
	return i < r_rule_count() ? &rules[i] : NULL;
}


const char *
r_rule_title(const char *id)
{
	size_t i;

	for (i = 0; i < r_rule_count(); i++)
		if (strcmp(rules[i].id, id) == 0)
			return rules[i].title;
	return "(not a rule of ABI.md)";
}
