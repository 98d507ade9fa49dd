/* tcp_tracer.c: TCP connection lifecycle for the apm receiver (service discovery and network
 * metrics). Loader: ebpf/bpf_program.py; events decoded by ebpf/tcp_metrics.py.
 *
 * Hooks are tracepoints only (no kprobes on the kernels we test): sock:inet_sock_set_state for
 * listen/connect/accept/close, tcp:tcp_retransmit_skb, sched:sched_process_exec/exit, and on
 * kernels >= 6.5 sock:sock_send_length/sock_recv_length for live byte counts (HAVE_SOCK_LENGTH).
 * Without them bytes come from struct tcp_sock at close; its member offsets are passed in as
 * OFF_* macros read from the running kernel's BTF (-1 when unknown), because the headers we
 * compile against may belong to another kernel version. */

#define EV_LISTEN 1
#define EV_CONNECT 2
#define EV_CONNECT_FAIL 3
#define EV_ACCEPT 4
#define EV_CLOSE 5
#define EV_EXEC 6
#define EV_EXIT 7

struct sock_info {
    u64 start_ns;
    u64 sent;
    u64 recv;
    u32 pid;
    u32 retrans;
    u16 family;
    u16 sport;
    u16 dport;
    u8 role;
    u8 pad;
    u8 saddr[16];
    u8 daddr[16];
};
/* LRU: a socket we never see closing (missed event) is evicted instead of filling the map. */
BPF_TABLE("lru_hash", u64, struct sock_info, socks, MAX_SOCKS);

struct tcp_event {
    u64 ts_ns;
    u64 sk;
    u64 sent;
    u64 recv;
    u64 duration_ns;
    u32 pid;
    u32 srtt_us;
    u32 retrans;
    u16 family;
    u16 sport;
    u16 dport;
    u8 kind;
    u8 role;
    u8 saddr[16];
    u8 daddr[16];
    char comm[16];
};
BPF_RINGBUF_OUTPUT(tcp_events, TCP_RING_PAGES);

/* A macro, not a function: BCC declares the tracepoint's argument struct only at the probe. */
#define COPY_TUPLE(i, args) do {                                            \
        (i)->family = (args)->family;                                       \
        (i)->sport = (args)->sport;                                         \
        (i)->dport = (args)->dport;                                         \
        if ((args)->family == 2) {                                          \
            bpf_probe_read_kernel((i)->saddr, 4, (args)->saddr);            \
            bpf_probe_read_kernel((i)->daddr, 4, (args)->daddr);            \
        } else {                                                            \
            bpf_probe_read_kernel((i)->saddr, 16, (args)->saddr_v6);        \
            bpf_probe_read_kernel((i)->daddr, 16, (args)->daddr_v6);        \
        }                                                                   \
    } while (0)

static __always_inline void emit(u8 kind, u64 sk, struct sock_info *i, u64 now, u32 pid, int old) {
    struct tcp_event *e = tcp_events.ringbuf_reserve(sizeof(struct tcp_event));
    if (!e) {
        count_drop(0);
        return;
    }
    e->ts_ns = now;
    e->sk = sk;
    e->kind = kind;
    e->pid = pid;
    e->sent = 0;
    e->recv = 0;
    e->srtt_us = 0;
    e->retrans = 0;
    e->duration_ns = 0;
    e->role = 0;
    e->family = 0;
    e->sport = 0;
    e->dport = 0;
    __builtin_memset(e->saddr, 0, 16);
    __builtin_memset(e->daddr, 0, 16);
    if (i) {
        e->sent = i->sent;
        e->recv = i->recv;
        e->retrans = i->retrans;
        e->duration_ns = now - i->start_ns;
        e->role = i->role;
        e->family = i->family;
        e->sport = i->sport;
        e->dport = i->dport;
        __builtin_memcpy(e->saddr, i->saddr, 16);
        __builtin_memcpy(e->daddr, i->daddr, 16);
    }
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    if (kind == EV_CLOSE) {
        u32 srtt = 0;
#if OFF_SRTT_US >= 0
        bpf_probe_read_kernel(&srtt, sizeof(srtt), (void *)(sk + OFF_SRTT_US));
#endif
        e->srtt_us = srtt >> 3;  /* tcp_sock.srtt_us holds 8 * smoothed RTT */
#if !HAVE_SOCK_LENGTH && OFF_BYTES_SENT >= 0 && OFF_BYTES_RETRANS >= 0 && OFF_BYTES_RECEIVED >= 0
        /* RFC 4898 counters. bytes_sent counts retransmitted bytes again; bytes_received
         * counts the FIN's sequence number once a FIN arrived (states after CLOSE_WAIT or
         * FIN_WAIT2); bytes_acked would count SYN and FIN, so it is not used. */
        u64 sent = 0, retr = 0, recv = 0;
        bpf_probe_read_kernel(&sent, sizeof(u64), (void *)(sk + OFF_BYTES_SENT));
        bpf_probe_read_kernel(&retr, sizeof(u64), (void *)(sk + OFF_BYTES_RETRANS));
        bpf_probe_read_kernel(&recv, sizeof(u64), (void *)(sk + OFF_BYTES_RECEIVED));
        int fin_in = old == 5 /* FIN_WAIT2 */ || old == 8 /* CLOSE_WAIT */ ||
                     old == 9 /* LAST_ACK */ || old == 11 /* CLOSING */;
        e->sent = sent > retr ? sent - retr : 0;
        e->recv = (fin_in && recv > 0) ? recv - 1 : recv;
#endif
    }
    tcp_events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

TRACEPOINT_PROBE(sock, inet_sock_set_state) {
    if (args->protocol != PROTO_TCP)
        return 0;
    u64 sk = (u64)args->skaddr;
    int old = args->oldstate;
    int new = args->newstate;
    u64 now = bpf_ktime_get_ns();
    u32 pid = bpf_get_current_pid_tgid() >> 32;

    if (new == TCP_LISTEN) {
        struct sock_info i = {};
        COPY_TUPLE(&i, args);
        i.start_ns = now;
        auto_track(pid);
        emit(EV_LISTEN, sk, &i, now, pid, old);
        return 0;
    }
    if (new == TCP_SYN_SENT) {
        /* process context (connect): the pid is the connecting process. The local port is not
         * assigned yet; the tuple is taken again at ESTABLISHED or CLOSE. */
        struct sock_info i = {};
        i.start_ns = now;
        i.pid = pid;
        i.role = ROLE_CLIENT;
        socks.update(&sk, &i);
        auto_track(pid);
        return 0;
    }
    struct sock_info *i = socks.lookup(&sk);
    if (old == TCP_SYN_SENT) {
        if (!i)
            return 0;
        COPY_TUPLE(i, args);
        if (new == TCP_ESTABLISHED) {
            struct endpoint ep;
            make_endpoint(&ep, i->family, i->saddr, i->sport);
            local_clients.update(&ep, &i->pid);
            emit(EV_CONNECT, sk, i, now, i->pid, old);
            i->start_ns = now;
        } else if (new == TCP_CLOSE) {
            emit(EV_CONNECT_FAIL, sk, i, now, i->pid, old);
            socks.delete(&sk);
        }
        return 0;
    }
    if (old == TCP_SYN_RECV && new == TCP_ESTABLISHED) {
        /* softirq context: the current task is unrelated (on loopback it is the client), so the
         * pid stays 0 until the first send/recv in process context, and user space attributes
         * the accept to the listener of the local port. */
        struct sock_info n = {};
        n.start_ns = now;
        n.role = ROLE_SERVER;
        COPY_TUPLE(&n, args);
        socks.update(&sk, &n);
        struct endpoint ep;
        make_endpoint(&ep, n.family, n.daddr, n.dport);
        u16 lport = n.sport;
        server_ports.update(&ep, &lport);
        emit(EV_ACCEPT, sk, &n, now, 0, old);
        return 0;
    }
    if (new == TCP_CLOSE && i) {
        emit(EV_CLOSE, sk, i, now, i->pid, old);
        socks.delete(&sk);
    }
    return 0;
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb) {
    u64 sk = (u64)args->skaddr;
    struct sock_info *i = socks.lookup(&sk);
    if (i)
        __sync_fetch_and_add(&i->retrans, 1);
    return 0;
}

#if HAVE_SOCK_LENGTH
static __always_inline void add_bytes(u64 sk, int ret, int flags, u16 protocol, int sending) {
    if (protocol != PROTO_TCP || ret <= 0 || (flags & MSG_PEEK_FLAG))
        return;
    struct sock_info *i = socks.lookup(&sk);
    if (!i)
        return;
    if (sending)
        __sync_fetch_and_add(&i->sent, ret);
    else
        __sync_fetch_and_add(&i->recv, ret);
    if (!i->pid)
        i->pid = bpf_get_current_pid_tgid() >> 32;
}

TRACEPOINT_PROBE(sock, sock_send_length) {
    add_bytes((u64)args->sk, args->ret, args->flags, args->protocol, 1);
    return 0;
}

TRACEPOINT_PROBE(sock, sock_recv_length) {
    add_bytes((u64)args->sk, args->ret, args->flags, args->protocol, 0);
    return 0;
}
#endif

TRACEPOINT_PROBE(sched, sched_process_exec) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (!tracked_pids.lookup(&pid))
        return 0;
    emit(EV_EXEC, 0, 0, bpf_ktime_get_ns(), pid, 0);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id >> 32;
    if ((u32)id != pid || !tracked_pids.lookup(&pid))
        return 0;  /* threads other than the leader exiting do not end the process */
    tracked_pids.delete(&pid);
    emit(EV_EXIT, 0, 0, bpf_ktime_get_ns(), pid, 0);
    return 0;
}
