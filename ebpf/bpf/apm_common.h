/* apm_common.h: maps and helpers shared by tcp_tracer.c, http_exchange.c and http_tracer.c.
 * Loader: ebpf/bpf_program.py concatenates this header, tcp_tracer.c and (when HTTP capture is
 * on) http_exchange.c and http_tracer.c into one BCC program, so they share these maps. */
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
 * 2 pid table full, 3 HTTP request read before the hooks attached. */
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

/* Facts the TCP tracer learns at handshakes, used by the HTTP tracer at accept(): which local
 * process is the client of a connection, and which local port it reached. Keys are the far
 * end's (address, port), addresses in 16-byte form (IPv4 as ::ffff:a.b.c.d). */
struct endpoint {
    u8 addr[16];
    u16 port;
    u16 pad;
};
BPF_TABLE("lru_hash", struct endpoint, u32, local_clients, MAX_SOCKS);  /* client end -> pid */
BPF_TABLE("lru_hash", struct endpoint, u16, server_ports, MAX_SOCKS);   /* client end -> server port */

static __always_inline void make_endpoint(struct endpoint *ep, u16 family, const u8 *addr, u16 port) {
    __builtin_memset(ep, 0, sizeof(*ep));
    ep->port = port;
    if (family == 2) {
        ep->addr[10] = 0xff;
        ep->addr[11] = 0xff;
        ep->addr[12] = addr[0];
        ep->addr[13] = addr[1];
        ep->addr[14] = addr[2];
        ep->addr[15] = addr[3];
    } else {
        __builtin_memcpy(ep->addr, addr, 16);
    }
}
