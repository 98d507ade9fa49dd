/* tls_tracer.c: the plaintext of OpenSSL connections, from uprobes on libssl (optional tier:
 * syscalls only carry ciphertext). Loader: ebpf/bpf_program.py appends it after http_tracer.c
 * and ebpf/tracer.py attaches it to the libraries in ebpf.tls_libraries; the buffers go through
 * the same exchange logic (http_exchange.c) as plain connections.
 *
 * A TLS connection is keyed by (tgid, pseudo fd) where the pseudo fd is derived from the SSL
 * object's address with the top bit set (real fds never have it). SSL_set_fd(ssl, fd) copies the
 * socket's facts (role, peer, ports) from the plain connection. Processes that link OpenSSL
 * statically, or load another copy of it (containers), are not covered. */

static __always_inline u32 tls_fd(u64 ssl) {
    return 0x80000000U | (u32)((ssl >> 4) & 0x7fffffff);
}

struct tls_read_args {
    u64 ssl;
    u64 buf;
    u64 readbytes;   /* SSL_read_ex: where the byte count is written */
    u64 max;
};
BPF_HASH(tls_reads, u64, struct tls_read_args, 10240);

int tls_set_fd(struct pt_regs *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!is_tracked(tgid))
        return 0;
    u64 ssl = PT_REGS_PARM1(ctx);
    u32 fd = (u32)PT_REGS_PARM2(ctx);
    u64 key = conn_key(tgid, fd);
    struct conn_info *c = conns.lookup(&key);
    if (!c)
        return 0;
    struct conn_info t = *c;
    t.flags = CONN_TLS;
    t.state = ST_IDLE;
    t.gen = bpf_ktime_get_ns();
    u64 tkey = conn_key(tgid, tls_fd(ssl));
    conns.update(&tkey, &t);
    return 0;
}

/* SSL_write(ssl, buf, int num) and SSL_write_ex(ssl, buf, size_t num, size_t *written) */
int tls_write(struct pt_regs *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!is_tracked(tgid))
        return 0;
    u32 fd = tls_fd(PT_REGS_PARM1(ctx));
    u64 key = conn_key(tgid, fd);
    struct conn_info *c = conns.lookup(&key);
    if (!c)
        return 0;
    u64 n = (u32)PT_REGS_PARM3(ctx);
    on_data(ctx, H_WRITE, tgid, fd, c, PT_REGS_PARM2(ctx), n, n, 1);
    return 0;
}

static __always_inline int tls_read_enter(struct pt_regs *ctx, u64 readbytes) {
    u64 id = bpf_get_current_pid_tgid();
    if (!is_tracked(id >> 32))
        return 0;
    struct tls_read_args a = {.ssl = PT_REGS_PARM1(ctx), .buf = PT_REGS_PARM2(ctx),
                              .readbytes = readbytes, .max = (u32)PT_REGS_PARM3(ctx)};
    tls_reads.update(&id, &a);
    return 0;
}

int tls_read(struct pt_regs *ctx) { return tls_read_enter(ctx, 0); }
int tls_read_ex(struct pt_regs *ctx) { return tls_read_enter(ctx, PT_REGS_PARM4(ctx)); }

/* uretprobe of both: SSL_read returns the byte count, SSL_read_ex 1 and the count via *readbytes */
int tls_read_ret(struct pt_regs *ctx) {
    u64 id = bpf_get_current_pid_tgid();
    struct tls_read_args *p = tls_reads.lookup(&id);
    if (!p)
        return 0;
    struct tls_read_args a = *p;
    tls_reads.delete(&id);
    long ret = PT_REGS_RC(ctx);
    u64 n = 0;
    if (a.readbytes) {
        if (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)a.readbytes) != 0)
            return 0;
    } else {
        if ((int)ret <= 0)
            return 0;
        n = (u32)ret;
    }
    if (n > a.max)
        n = a.max;
    u32 tgid = id >> 32;
    u32 fd = tls_fd(a.ssl);
    u64 key = conn_key(tgid, fd);
    struct conn_info *c = conns.lookup(&key);
    if (!c)
        return 0;
    on_data(ctx, H_READ, tgid, fd, c, a.buf, n, n, 1);
    return 0;
}
