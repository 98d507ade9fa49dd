/* http_tracer.c: the syscall tracepoints behind HTTP/1.x RED metrics (no kprobes, no uprobes).
 * Exchange state and the fast path: http_exchange.c. Loader: ebpf/bpf_program.py.
 *
 * Connections are (tgid, fd) pairs learned from accept/accept4 (server side) and connect (client
 * side), or seeded by user space from /proc for connections older than the agent. Only processes
 * in tracked_pids pay more than one map lookup per syscall. Reads are looked at on sys_exit
 * (the data is there then), writes on sys_enter. */

/* Arguments saved at sys_enter for use at sys_exit, keyed by thread. */
struct read_args {
    u64 buf;
    u64 addr;        /* accept: peer sockaddr pointer */
    u32 fd;
    u32 max;         /* readable bytes in buf (count or iov_len) */
};
BPF_HASH(pending_reads, u64, struct read_args, 10240);

struct connect_args {
    u32 fd;
    u16 family;
    u16 port;
    u8 addr[16];
};
BPF_HASH(pending_connects, u64, struct connect_args, 10240);

/* sockaddr_in / sockaddr_in6 from user memory: family, port, address in 16-byte form. */
static __always_inline void read_sockaddr(u64 uaddr, u16 *family, u16 *port, u8 *addr) {
    u16 fam = 0;
    *family = 0;
    if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), (void *)uaddr) != 0)
        return;
    u16 p = 0;
    bpf_probe_read_user(&p, sizeof(p), (void *)(uaddr + 2));
    *port = (p >> 8) | (p << 8);  /* network order */
    *family = fam;
    if (fam == 2) {
        u8 a4[4] = {};
        bpf_probe_read_user(a4, 4, (void *)(uaddr + 4));
        struct endpoint ep;
        make_endpoint(&ep, 2, a4, 0);
        __builtin_memcpy(addr, ep.addr, 16);
    } else if (fam == 10) {
        bpf_probe_read_user(addr, 16, (void *)(uaddr + 8));
    }
}


/* ---- reads: the data is there at sys_exit ---- */
static __always_inline int enter_read(u32 fd, u64 buf, u64 max) {
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    if (!is_tracked(tgid))
        return 0;
    u64 key = conn_key(tgid, fd);
    if (!conns.lookup(&key))
        return 0;
    struct read_args a = {.buf = buf, .addr = 0, .fd = fd, .max = max > 0xffffffff ? 0xffffffff : max};
    pending_reads.update(&id, &a);
    return 0;
}

static __always_inline int exit_read(void *ctx, long ret) {
    u64 id = bpf_get_current_pid_tgid();
    struct read_args *a = pending_reads.lookup(&id);
    if (!a)
        return 0;
    struct read_args args = *a;
    pending_reads.delete(&id);
    if (ret <= 0)
        return 0;
    u32 tgid = id >> 32;
    u64 key = conn_key(tgid, args.fd);
    struct conn_info *c = conns.lookup(&key);
    if (!c)
        return 0;
    u64 n = (u64)ret < args.max ? (u64)ret : args.max;
    on_data(ctx, H_READ, tgid, args.fd, c, args.buf, n, ret, 0);
    return 0;
}

/* first iovec of an iovec array */
static __always_inline int first_iov(u64 iov, u64 *base, u64 *len) {
    struct { u64 base; u64 len; } v = {};
    if (!iov || bpf_probe_read_user(&v, sizeof(v), (void *)iov) != 0)
        return -1;
    *base = v.base;
    *len = v.len;
    return 0;
}

/* struct user_msghdr: msg_name, msg_namelen (+pad), msg_iov at offset 16 */
static __always_inline int msghdr_iov(u64 msg, u64 *base, u64 *len) {
    u64 iov = 0;
    if (!msg || bpf_probe_read_user(&iov, sizeof(iov), (void *)(msg + 16)) != 0)
        return -1;
    return first_iov(iov, base, len);
}

TRACEPOINT_PROBE(syscalls, sys_enter_read) { return enter_read(args->fd, (u64)args->buf, args->count); }
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return exit_read(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvfrom) { return enter_read(args->fd, (u64)args->ubuf, args->size); }
TRACEPOINT_PROBE(syscalls, sys_exit_recvfrom) { return exit_read(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_readv) {
    u64 base = 0, len = 0;
    if (first_iov((u64)args->vec, &base, &len) != 0)
        return 0;
    return enter_read(args->fd, base, len);
}
TRACEPOINT_PROBE(syscalls, sys_exit_readv) { return exit_read(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_recvmsg) {
    u64 base = 0, len = 0;
    if (msghdr_iov((u64)args->msg, &base, &len) != 0)
        return 0;
    return enter_read(args->fd, base, len);
}
TRACEPOINT_PROBE(syscalls, sys_exit_recvmsg) { return exit_read(args, args->ret); }

/* ---- writes: the data is there at sys_enter ---- */
static __always_inline int on_write(void *ctx, u32 fd, u64 buf, u64 n, u64 total) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!is_tracked(tgid))
        return 0;
    u64 key = conn_key(tgid, fd);
    struct conn_info *c = conns.lookup(&key);
    if (!c)
        return 0;
    on_data(ctx, H_WRITE, tgid, fd, c, buf, n, total, 0);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_write) { return on_write(args, args->fd, (u64)args->buf, args->count, args->count); }
TRACEPOINT_PROBE(syscalls, sys_enter_sendto) { return on_write(args, args->fd, (u64)args->buff, args->len, args->len); }
TRACEPOINT_PROBE(syscalls, sys_enter_writev) {
    u64 base = 0, len = 0;
    if (first_iov((u64)args->vec, &base, &len) != 0)
        return 0;
    return on_write(args, args->fd, base, len, len);
}
TRACEPOINT_PROBE(syscalls, sys_enter_sendmsg) {
    u64 base = 0, len = 0;
    if (msghdr_iov((u64)args->msg, &base, &len) != 0)
        return 0;
    return on_write(args, args->fd, base, len, len);
}

/* ---- connection lifecycle ---- */
static __always_inline int enter_accept(u64 upeer) {
    u64 id = bpf_get_current_pid_tgid();
    if (!is_tracked(id >> 32))
        return 0;
    struct read_args a = {.buf = 0, .addr = upeer, .fd = 0, .max = 0};
    pending_reads.update(&id, &a);
    return 0;
}

static __always_inline int exit_accept(long ret) {
    u64 id = bpf_get_current_pid_tgid();
    struct read_args *a = pending_reads.lookup(&id);
    if (!a)
        return 0;
    u64 upeer = a->addr;
    pending_reads.delete(&id);
    if (ret < 0)
        return 0;
    struct conn_info c = {};
    u16 family = 0;
    c.role = ROLE_SERVER;
    c.gen = bpf_ktime_get_ns();
    read_sockaddr(upeer, &family, &c.peer_port, c.peer);
    if (family != 0 && family != 2 && family != 10)
        return 0;  /* unix sockets and others: not TCP */
    struct endpoint ep;
    make_endpoint(&ep, 10, c.peer, c.peer_port);
    u32 *cpid = local_clients.lookup(&ep);
    if (cpid)
        c.client_pid = *cpid;
    u16 *lport = server_ports.lookup(&ep);
    if (lport)
        c.local_port = *lport;
    u32 tgid = id >> 32;
    u64 key = conn_key(tgid, (u32)ret);
    conns.update(&key, &c);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept) { return enter_accept((u64)args->upeer_sockaddr); }
TRACEPOINT_PROBE(syscalls, sys_exit_accept) { return exit_accept(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_accept4) { return enter_accept((u64)args->upeer_sockaddr); }
TRACEPOINT_PROBE(syscalls, sys_exit_accept4) { return exit_accept(args->ret); }

TRACEPOINT_PROBE(syscalls, sys_enter_connect) {
    /* not filtered by tracked_pids: a process is auto-tracked inside its first connect */
    u64 id = bpf_get_current_pid_tgid();
    struct connect_args a = {};
    a.fd = args->fd;
    read_sockaddr((u64)args->uservaddr, &a.family, &a.port, a.addr);
    if (a.family != 2 && a.family != 10)
        return 0;
    pending_connects.update(&id, &a);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_connect) {
    u64 id = bpf_get_current_pid_tgid();
    struct connect_args *a = pending_connects.lookup(&id);
    if (!a)
        return 0;
    struct connect_args args_copy = *a;
    pending_connects.delete(&id);
    long ret = args->ret;
    u32 tgid = id >> 32;
    if ((ret != 0 && ret != -115 /* EINPROGRESS */) || !is_tracked(tgid))
        return 0;
    struct conn_info c = {};
    c.role = ROLE_CLIENT;
    c.gen = bpf_ktime_get_ns();
    c.peer_port = args_copy.port;
    __builtin_memcpy(c.peer, args_copy.addr, 16);
    u64 key = conn_key(tgid, args_copy.fd);
    conns.update(&key, &c);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_close) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!is_tracked(tgid))
        return 0;
    u64 key = conn_key(tgid, args->fd);
    conns.delete(&key);
    return 0;
}
