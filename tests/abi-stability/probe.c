/* SPDX-License-Identifier: MIT */
/*
 * The ABI of abi.h itself, which is all types and inline functions and so
 * has no library of its own to compare: this probe exports one function
 * that names every struct of the header, so that the baseline in
 * abi/baseline/ records their layouts and a change of any of them shows up
 * as an incompatible change.
 */
#include <weft/abi.h>

struct weft_abi_probe {
	struct weft_waker_vtable waker_vtable;
	struct weft_waker waker;
	struct weft_context context;
	struct weft_future_vtable future_vtable;
	struct weft_future future;
	struct weft_join_ops join_ops;
	struct weft_join join;
	struct weft_task_core task_core;
	struct weft_driver_ops driver_ops;
	struct weft_driver driver;
	struct weft_executor_params executor_params;
	struct weft_executor_stats executor_stats;
	struct weft_worker_stats worker_stats;
	struct weft_executor_iface executor_iface;
	struct weft_executor executor;
	struct weft_reactor_event reactor_event;
	struct weft_reactor_params reactor_params;
	struct weft_reactor_iface reactor_iface;
	struct weft_reactor reactor;
	struct weft_plugin_descriptor plugin_descriptor;
	struct weft_negotiate negotiate;
	weft_plugin_entry_fn entry;
	weft_task_schedule_fn schedule;
	weft_setting_fn setting;
	enum weft_plugin_kind kind;
	weft_poll poll;
};

WEFT_EXPORT size_t weft_abi_probe(struct weft_abi_probe *p);

WEFT_EXPORT size_t
weft_abi_probe(struct weft_abi_probe *p)
{
	return p ? sizeof(*p) : 0;
}
