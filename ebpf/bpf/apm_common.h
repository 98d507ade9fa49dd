/* apm_common.h: maps and helpers shared by tcp_tracer.c and http_tracer.c.
 * Loader: ebpf/bpf_program.py concatenates this header, tcp_tracer.c and (when HTTP capture is
 * on) http_tracer.c into one BCC program, so the programs share these maps. */
#include <uapi/linux/ptrace.h>

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define MSG_PEEK_FLAG 2
#define PROTO_TCP 6

#define ROLE_CLIENT 1
#define ROLE_SERVER 2

/* tracked_pids values: the kernel side auto-tracks a process the first time it listens or
 * connects (TRACK_AUTO); user space then confirms (TRACK_ON) or excludes (TRACK_OFF) it after
 * applying discovery selectors. The kernel never overwrites an entry, so an exclusion sticks. */
#define TRACK_AUTO 1
#define TRACK_ON 2
#define TRACK_OFF 3
BPF_HASH(tracked_pids, u32, u8, MAX_PIDS);

/* Lost-event counters read by user space: index 0 tcp ring full, 1 http ring full,
 * 2 pid table full. */
BPF_ARRAY(drops, u64, 4);

static __always_inline void count_drop(int idx) {
    u64 *v = drops.lookup(&idx);
    if (v) __sync_fetch_and_add(v, 1);
}

static __always_inline void auto_track(u32 pid) {
    u8 v = TRACK_AUTO;
    if (tracked_pids.lookup(&pid)) return;
    if (tracked_pids.insert(&pid, &v) != 0) count_drop(2);
}

static __always_inline int is_tracked(u32 pid) {
    u8 *v = tracked_pids.lookup(&pid);
    return v && *v != TRACK_OFF;
}
