/* SPDX-License-Identifier: MIT */
/*
 * The ABI 1.x layout on x86_64 (LP64), as X-macro lists, for the
 * conformance test P7 and the header build tests.  Offsets of 1.0 members
 * never change in 1.x.  FROZEN structs keep their exact size; GROWS
 * structs may only get longer (members appended after a version bump).
 *
 * Each user defines FROZEN(type, size), GROWS(type, end) and
 * OFF(type, member, offset) before expanding WEFT_LAYOUT_X86_64 and
 * WEFT_LAYOUT_X86_64_ADDED.
 */
#ifndef WEFT_CONFORMANCE_LAYOUT_H
#define WEFT_CONFORMANCE_LAYOUT_H

#define WEFT_LAYOUT_X86_64                                                     \
	FROZEN(weft_waker, 16)                                                 \
	OFF(weft_waker, vtable, 0)                                             \
	OFF(weft_waker, data, 8)                                               \
	GROWS(weft_waker_vtable, 40)                                           \
	OFF(weft_waker_vtable, version, 0)                                     \
	OFF(weft_waker_vtable, clone, 8)                                       \
	OFF(weft_waker_vtable, wake, 16)                                       \
	OFF(weft_waker_vtable, wake_by_ref, 24)                                \
	OFF(weft_waker_vtable, drop, 32)                                       \
	GROWS(weft_context, 40)                                                \
	OFF(weft_context, size, 0)                                             \
	OFF(weft_context, budget, 4)                                           \
	OFF(weft_context, waker, 8)                                            \
	OFF(weft_context, executor, 24)                                        \
	OFF(weft_context, driver, 32)                                          \
	FROZEN(weft_future, 8)                                                 \
	GROWS(weft_future_vtable, 48)                                          \
	OFF(weft_future_vtable, version, 0)                                    \
	OFF(weft_future_vtable, flags, 4)                                      \
	OFF(weft_future_vtable, size, 8)                                       \
	OFF(weft_future_vtable, output_offset, 16)                             \
	OFF(weft_future_vtable, output_size, 24)                               \
	OFF(weft_future_vtable, poll, 32)                                      \
	OFF(weft_future_vtable, drop, 40)                                      \
	FROZEN(weft_join, 16)                                                  \
	OFF(weft_join, version, 0)                                             \
	OFF(weft_join, ops, 8)                                                 \
	GROWS(weft_join_ops, 32)                                               \
	OFF(weft_join_ops, poll, 8)                                            \
	OFF(weft_join_ops, abort, 16)                                          \
	OFF(weft_join_ops, release, 24)                                        \
	GROWS(weft_task_core, 64)                                              \
	OFF(weft_task_core, set_new, 8)                                        \
	OFF(weft_task_core, set_close, 16)                                     \
	OFF(weft_task_core, set_free, 24)                                      \
	OFF(weft_task_core, spawn, 32)                                         \
	OFF(weft_task_core, run, 40)                                           \
	OFF(weft_task_core, drop_runnable, 48)                                 \
	OFF(weft_task_core, link, 56)                                          \
	FROZEN(weft_driver, 16)                                                \
	GROWS(weft_driver_ops, 88)                                             \
	OFF(weft_driver_ops, now, 8)                                           \
	OFF(weft_driver_ops, timer_add, 16)                                    \
	OFF(weft_driver_ops, timer_poll, 24)                                   \
	OFF(weft_driver_ops, timer_del, 32)                                    \
	OFF(weft_driver_ops, io_add, 40)                                       \
	OFF(weft_driver_ops, io_poll, 48)                                      \
	OFF(weft_driver_ops, io_clear, 56)                                     \
	OFF(weft_driver_ops, io_del, 64)                                       \
	OFF(weft_driver_ops, park, 72)                                         \
	OFF(weft_driver_ops, unpark, 80)                                       \
	GROWS(weft_executor_params, 24)                                        \
	OFF(weft_executor_params, workers, 4)                                  \
	OFF(weft_executor_params, driver, 8)                                   \
	OFF(weft_executor_params, tasks, 16)                                   \
	GROWS(weft_executor_stats, 64)                                         \
	OFF(weft_executor_stats, workers, 4)                                   \
	OFF(weft_executor_stats, spawned, 8)                                   \
	OFF(weft_executor_stats, queue_depth, 56)                              \
	GROWS(weft_executor_iface, 64)                                         \
	OFF(weft_executor_iface, flags, 4)                                     \
	OFF(weft_executor_iface, instance_size, 8)                             \
	OFF(weft_executor_iface, init, 16)                                     \
	OFF(weft_executor_iface, spawn, 24)                                    \
	OFF(weft_executor_iface, block_on, 32)                                 \
	OFF(weft_executor_iface, shutdown, 40)                                 \
	OFF(weft_executor_iface, fini, 48)                                     \
	OFF(weft_executor_iface, stats, 56)                                    \
	FROZEN(weft_executor, 16)                                              \
	FROZEN(weft_reactor_event, 16)                                         \
	OFF(weft_reactor_event, token, 0)                                      \
	OFF(weft_reactor_event, ready, 8)                                      \
	OFF(weft_reactor_event, reserved, 12)                                  \
	GROWS(weft_reactor_params, 8)                                          \
	OFF(weft_reactor_params, max_events, 4)                                \
	GROWS(weft_reactor_iface, 72)                                          \
	OFF(weft_reactor_iface, flags, 4)                                      \
	OFF(weft_reactor_iface, instance_size, 8)                              \
	OFF(weft_reactor_iface, init, 16)                                      \
	OFF(weft_reactor_iface, add, 24)                                       \
	OFF(weft_reactor_iface, modify, 32)                                    \
	OFF(weft_reactor_iface, del, 40)                                       \
	OFF(weft_reactor_iface, wait, 48)                                      \
	OFF(weft_reactor_iface, wakeup, 56)                                    \
	OFF(weft_reactor_iface, fini, 64)                                      \
	FROZEN(weft_reactor, 16)                                               \
	GROWS(weft_plugin_descriptor, 56)                                      \
	OFF(weft_plugin_descriptor, magic, 4)                                  \
	OFF(weft_plugin_descriptor, abi_major, 8)                              \
	OFF(weft_plugin_descriptor, abi_minor, 12)                             \
	OFF(weft_plugin_descriptor, kind, 16)                                  \
	OFF(weft_plugin_descriptor, plugin_version, 20)                        \
	OFF(weft_plugin_descriptor, signature, 24)                             \
	OFF(weft_plugin_descriptor, name, 32)                                  \
	OFF(weft_plugin_descriptor, description, 40)                           \
	OFF(weft_plugin_descriptor, iface, 48)                                 \
	GROWS(weft_negotiate, 16)                                              \
	OFF(weft_negotiate, host_min, 4)                                       \
	OFF(weft_negotiate, host_max, 8)                                       \
	OFF(weft_negotiate, chosen, 12)

/*
 * What ABI 1.1 to 1.3 appended on x86_64: the members after the 1.0 ends
 * above, at offsets that never change in later 1.x, and the sizes the
 * structs have grown to.  Expanded after WEFT_LAYOUT_X86_64 by the same
 * users.  weft_worker_stats is new in 1.2, weft_reactor_op and weft_io_op
 * in 1.3.
 */
#define WEFT_LAYOUT_X86_64_ADDED                                               \
	OFF(weft_driver_ops, blocking, 88)                                     \
	GROWS(weft_task_core, 88)                                              \
	OFF(weft_task_core, root_waker, 64) /* 1.1, version 2 */               \
	OFF(weft_task_core, run_done, 72)   /* 1.1, version 3 */               \
	OFF(weft_task_core, id, 80)         /* 1.2, version 4 */               \
	GROWS(weft_driver_ops, 112)                                            \
	OFF(weft_driver_ops, clock_advance, 96) /* 1.2, version 2 */           \
	OFF(weft_driver_ops, fault, 104)        /* 1.2, version 2 */           \
	GROWS(weft_executor_params, 40)                                        \
	OFF(weft_executor_params, setting, 24)     /* 1.2, version 2 */        \
	OFF(weft_executor_params, setting_ctx, 32) /* 1.2, version 2 */        \
	OFF(weft_executor_stats, polls, 16)                                    \
	OFF(weft_executor_stats, completed, 24)                                \
	OFF(weft_executor_stats, parks, 32)                                    \
	OFF(weft_executor_stats, foreign_wakes, 40)                            \
	OFF(weft_executor_stats, steals, 48)                                   \
	GROWS(weft_executor_iface, 72)                                         \
	OFF(weft_executor_iface, worker_stats, 64) /* 1.2, version 2 */        \
	GROWS(weft_worker_stats, 40)               /* 1.2 */                   \
	OFF(weft_worker_stats, size, 0)                                        \
	OFF(weft_worker_stats, worker, 4)                                      \
	OFF(weft_worker_stats, polls, 8)                                       \
	OFF(weft_worker_stats, steals, 16)                                     \
	OFF(weft_worker_stats, parks, 24)                                      \
	OFF(weft_worker_stats, queue_depth, 32)                                \
	GROWS(weft_reactor_params, 24)                                         \
	OFF(weft_reactor_params, setting, 8)      /* 1.2, version 2 */         \
	OFF(weft_reactor_params, setting_ctx, 16) /* 1.2, version 2 */         \
	GROWS(weft_reactor_iface, 88)                                          \
	OFF(weft_reactor_iface, now, 72)     /* 1.2, version 2 */              \
	OFF(weft_reactor_iface, advance, 80) /* 1.2, version 2 */              \
	GROWS(weft_reactor_iface, 104)                                         \
	OFF(weft_reactor_iface, submit, 88) /* 1.3, version 3 */               \
	OFF(weft_reactor_iface, cancel, 96) /* 1.3, version 3 */               \
	GROWS(weft_reactor_op, 48) /* 1.3 */                                   \
	OFF(weft_reactor_op, version, 0)                                       \
	OFF(weft_reactor_op, opcode, 4)                                        \
	OFF(weft_reactor_op, token, 8)                                         \
	OFF(weft_reactor_op, fd, 16)                                           \
	OFF(weft_reactor_op, flags, 20)                                        \
	OFF(weft_reactor_op, buf, 24)                                          \
	OFF(weft_reactor_op, len, 32)                                          \
	OFF(weft_reactor_op, reserved, 36)                                     \
	OFF(weft_reactor_op, offset, 40)                                       \
	GROWS(weft_driver_ops, 136)                                            \
	OFF(weft_driver_ops, op_submit, 112) /* 1.3, version 3 */              \
	OFF(weft_driver_ops, op_poll, 120)   /* 1.3, version 3 */              \
	OFF(weft_driver_ops, op_del, 128)    /* 1.3, version 3 */              \
	GROWS(weft_io_op, 40) /* 1.3 */                                        \
	OFF(weft_io_op, version, 0)                                            \
	OFF(weft_io_op, opcode, 4)                                             \
	OFF(weft_io_op, fd, 8)                                                 \
	OFF(weft_io_op, flags, 12)                                             \
	OFF(weft_io_op, data, 16)                                              \
	OFF(weft_io_op, len, 24)                                               \
	OFF(weft_io_op, reserved, 28)                                          \
	OFF(weft_io_op, offset, 32)

/* The 1.0 signature on x86_64 with the System V ABI. */
#define WEFT_LAYOUT_X86_64_SIGNATURE 0x7710100804040808ull

#endif /* WEFT_CONFORMANCE_LAYOUT_H */
