/* http_exchange.c: per-connection HTTP exchange state, the kernel-side fast path and the events
 * that hand connections to user space. Hooks that feed it: http_tracer.c. Loader:
 * ebpf/bpf_program.py (apm_common.h, tcp_tracer.c, this file, http_tracer.c, in that order);
 * aggregates and events are read by ebpf/http_metrics.py.
 *
 * Fast path, in the kernel: a connection carrying one request at a time whose request head is
 * one whole buffer (keep-alive GETs and the like) is measured here: the request start is kept in
 * the connection's state, the response start completes it into the http_agg histogram map that
 * user space reads every collection interval. No event per request.
 * Slow path, in user space: the first time a connection does anything else (pipelining, a body or
 * a head spread over several buffers, a path longer than PATH_BYTES, a response without a
 * request) it is handed to user space for good: every buffer that starts an HTTP message is sent
 * with its first CAPTURE_BYTES bytes (H_READ/H_WRITE), the request the kernel had in flight
 * first (H_PENDING). Continuation buffers are never sent. */

#define H_READ 1
#define H_WRITE 2
#define H_DONE 5      /* completed in the kernel, but http_agg was full: user space records it */
#define H_PENDING 6   /* the in-flight request of a connection being handed to user space */

#define ST_IDLE 0
#define ST_INFLIGHT 1
#define ST_SLOW 2

#define CONN_SEEDED 1
#define CONN_TLS 2     /* a TLS connection's plaintext, keyed by its SSL object (tls_tracer.c) */

#define PATH_BYTES 64
#define FAST_HEAD_MAX 256  /* longer request heads take the user-space path */
#define NBUCKETS 15
#define RESPONSE 100

struct conn_info {
    u64 gen;          /* when the connection was opened: user space resets per-fd state on change */
    u64 req_ts;
    u32 client_pid;   /* server side: the local client process (0: remote or unknown) */
    u16 peer_port;
    u16 local_port;   /* server side */
    u8 role;
    u8 state;
    u8 method;
    u8 flags;         /* CONN_SEEDED: opened before the agent, seeded from /proc */
    u8 peer[16];      /* the far end, 16-byte form */
    char path[PATH_BYTES];
};
BPF_TABLE("lru_hash", u64, struct conn_info, conns, MAX_CONNS);

struct agg_key {
    u32 pid;
    u32 client_pid;
    u16 port;         /* server side: local port; client side: the server's port */
    u16 status;
    u8 role;
    u8 method;
    u16 tls;          /* 1: plaintext seen through the OpenSSL uprobes (url.scheme https) */
    u8 addr[16];      /* server side: client address when client_pid is 0; client side: server */
    char path[PATH_BYTES];
};
struct agg_val {
    u64 count;
    u64 sum_ns;
    u64 buckets[NBUCKETS];  /* OpenTelemetry http.*.request.duration default bounds */
};
BPF_HASH(http_agg, struct agg_key, struct agg_val, MAX_AGG);
/* Never written: the zeroes a new aggregate starts from (too big to zero on the stack). */
BPF_ARRAY(agg_zero, struct agg_val, 1);

struct http_event {
    u64 ts_ns;
    u64 gen;
    u64 duration_ns;
    s64 len;
    u32 pid;
    u32 fd;
    u32 client_pid;
    u16 peer_port;
    u16 local_port;
    u16 caplen;
    u16 status;
    u8 kind;
    u8 role;
    u8 method;
    u8 pad;
    u8 peer[16];
    u8 data[CAPTURE_BYTES];
};
BPF_RINGBUF_OUTPUT(http_events, HTTP_RING_PAGES);

/* Why connections were handed to user space (self-telemetry; see SLOW_REASONS in
 * ebpf/http_metrics.py for the names). */
BPF_ARRAY(slow_reasons, u64, 8);

static __always_inline void count_slow(int reason) {
    u64 *v = slow_reasons.lookup(&reason);
    if (v)
        __sync_fetch_and_add(v, 1);
}

/* Per-CPU scratch copy of a buffer's first bytes, too big for the 512-byte BPF stack. */
struct scratch_buf {
    u8 b[CAPTURE_BYTES];
};
BPF_PERCPU_ARRAY(scratch, struct scratch_buf, 1);

static __always_inline u64 conn_key(u32 tgid, u32 fd) {
    return ((u64)tgid << 32) | fd;
}

/* 1..9: the method (GET POST PUT DELETE HEAD OPTIONS PATCH CONNECT TRACE), RESPONSE for
 * "HTTP", 0 for anything else. Compared as little-endian 32-bit words. */
static __always_inline int classify(u32 w) {
    switch (w) {
    case 0x20544547: return 1;  /* "GET " */
    case 0x54534f50: return 2;  /* "POST" */
    case 0x20545550: return 3;  /* "PUT " */
    case 0x454c4544: return 4;  /* "DELE" */
    case 0x44414548: return 5;  /* "HEAD" */
    case 0x4954504f: return 6;  /* "OPTI" */
    case 0x43544150: return 7;  /* "PATC" */
    case 0x4e4e4f43: return 8;  /* "CONN" */
    case 0x43415254: return 9;  /* "TRAC" */
    case 0x50545448: return RESPONSE;  /* "HTTP" */
    }
    return 0;
}

static __always_inline u32 method_len(int m) {
    switch (m) {
    case 1: case 3: return 3;
    case 2: case 5: return 4;
    case 7: case 9: return 5;
    case 4: return 6;
    }
    return 7;
}

static __always_inline int bucket_of(u64 ns) {
    if (ns <= 5000000ULL) return 0;
    if (ns <= 10000000ULL) return 1;
    if (ns <= 25000000ULL) return 2;
    if (ns <= 50000000ULL) return 3;
    if (ns <= 75000000ULL) return 4;
    if (ns <= 100000000ULL) return 5;
    if (ns <= 250000000ULL) return 6;
    if (ns <= 500000000ULL) return 7;
    if (ns <= 750000000ULL) return 8;
    if (ns <= 1000000000ULL) return 9;
    if (ns <= 2500000000ULL) return 10;
    if (ns <= 5000000000ULL) return 11;
    if (ns <= 7500000000ULL) return 12;
    if (ns <= 10000000000ULL) return 13;
    return 14;
}

static __always_inline void fill_event(struct http_event *e, u8 kind, u32 tgid, u32 fd,
                                       struct conn_info *c) {
    e->ts_ns = bpf_ktime_get_ns();
    e->gen = c->gen;
    e->duration_ns = 0;
    e->len = 0;
    e->pid = tgid;
    e->fd = fd;
    e->client_pid = c->client_pid;
    e->peer_port = c->peer_port;
    e->local_port = c->local_port;
    e->caplen = 0;
    e->status = 0;
    e->kind = kind;
    e->role = c->role;
    e->method = c->method;
    e->pad = c->flags;
    __builtin_memcpy(e->peer, c->peer, 16);
}

/* A buffer that starts an HTTP message, to user space (slow path). */
static __always_inline void emit_raw(u8 kind, u32 tgid, u32 fd, struct conn_info *c,
                                     u64 buf, u64 n, s64 len) {
    struct http_event *e = http_events.ringbuf_reserve(sizeof(struct http_event));
    if (!e) {
        count_drop(1);
        return;
    }
    fill_event(e, kind, tgid, fd, c);
    e->len = len;
    u32 cap = n > CAPTURE_BYTES ? CAPTURE_BYTES : (u32)n;
    e->caplen = cap;
    /* cap <= CAPTURE_BYTES already; the mask states the bound in a form the verifier tracks */
    if (bpf_probe_read_user(e->data, cap & (2 * CAPTURE_BYTES - 1), (void *)buf) != 0)
        e->caplen = 0;
    http_events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* The kernel's in-flight request (or a completed one, H_DONE) as an event: path in data. */
static __always_inline void emit_request(u8 kind, u32 tgid, u32 fd, struct conn_info *c,
                                         u16 status, u64 now) {
    struct http_event *e = http_events.ringbuf_reserve(sizeof(struct http_event));
    if (!e) {
        count_drop(1);
        return;
    }
    fill_event(e, kind, tgid, fd, c);
    e->ts_ns = c->req_ts;
    e->status = status;
    e->duration_ns = now - c->req_ts;
    e->caplen = PATH_BYTES;
    __builtin_memcpy(e->data, c->path, PATH_BYTES);
    http_events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* The request scan runs in its own program, reached by tail call: scanning a buffer byte by
 * byte has one loop exit per byte, and the verifier walks whatever follows the loop once per
 * exit; kept small and separate, that stays far inside its budget (bpf_loop, which would avoid
 * this, cannot be used from BCC 0.26). The caller leaves its arguments in scan_scratch. */
struct scan_state {
    u8 b[CAPTURE_BYTES];
    u64 key;
    u64 buf;
    u64 n;
    s64 len;
    u64 ts;
    u32 tgid;
    u32 fd;
    u8 kind;
};
BPF_PERCPU_ARRAY(scan_scratch, struct scan_state, 1);
BPF_PROG_ARRAY(scan_progs, 1);      /* for tracepoint callers */
BPF_PROG_ARRAY(scan_progs_tls, 1);  /* for uprobe callers: a tail call keeps the program type */

/* Tail-call target: is the request fast-path material? One whole head ending the buffer (no
 * body, no second pipelined request) and a path shorter than PATH_BYTES. */
static __always_inline int scan_body(void) {
    int zero = 0;
    struct scan_state *st = scan_scratch.lookup(&zero);
    if (!st)
        return 0;
    u64 key = st->key;
    struct conn_info *c = conns.lookup(&key);
    if (!c)
        return 0;
    u32 len = st->n;
    u32 end = 0, win = 0;
    for (u32 i = 0; i < FAST_HEAD_MAX; i++) {
        if (i >= len)
            break;
        win = (win << 8) | st->b[i & (CAPTURE_BYTES - 1)];
        if (win == 0x0d0a0d0a) {
            end = i + 1;
            break;
        }
    }
    if (end == len) {
        /* path: up to a space, '?', '#' or CR; zeroed after it arithmetically (see above) */
        u32 start = (method_len(c->method) + 1) & 15;
        u8 keep = 1;
        for (u32 j = 0; j < PATH_BYTES; j++) {
            u8 ch = st->b[(start + j) & (CAPTURE_BYTES - 1)];
            u8 is_end = (ch == ' ') | (ch == '?') | (ch == '#') | (ch == '\r');
            keep &= (u8)(is_end ^ 1);
            c->path[j] = ch & (u8)(0 - keep);
        }
        if (!keep) {
            c->req_ts = st->ts;
            c->state = ST_INFLIGHT;
            return 0;
        }
        count_slow(4);  /* path longer than PATH_BYTES */
    } else {
        count_slow(3);  /* body, second head, or a head split over buffers */
    }
    c->state = ST_SLOW;
    emit_raw(st->kind, st->tgid, st->fd, c, st->buf, st->n, st->len);
    return 0;
}

/* The tail-call targets, one per program type (tracepoint, uprobe). */
int scan_request(void *ctx) {
    return scan_body();
}

int scan_request_uprobe(struct pt_regs *ctx) {
    return scan_body();
}

BPF_PERCPU_ARRAY(agg_key_scratch, struct agg_key, 1);

static __always_inline void complete(u32 tgid, u32 fd, struct conn_info *c, u16 status, u64 now) {
    int zi = 0;
    struct agg_key *kp = agg_key_scratch.lookup(&zi);
    if (!kp)
        return;
    /* zeroed word by word: clang would emit a memset call, which BPF cannot make */
    u64 *words = (u64 *)kp;
#pragma unroll
    for (int i = 0; i < sizeof(struct agg_key) / 8; i++)
        words[i] = 0;
    struct agg_key k;
    k = *kp;
    k.pid = tgid;
    k.role = c->role;
    k.method = c->method;
    k.status = status;
    k.tls = (c->flags & CONN_TLS) ? 1 : 0;
    if (c->role == ROLE_SERVER) {
        k.port = c->local_port;
        k.client_pid = c->client_pid;
        if (!c->client_pid)
            __builtin_memcpy(k.addr, c->peer, 16);
    } else {
        k.port = c->peer_port;
        __builtin_memcpy(k.addr, c->peer, 16);
    }
    __builtin_memcpy(k.path, c->path, PATH_BYTES);
    u64 d = now - c->req_ts;
    struct agg_val *v = http_agg.lookup(&k);
    if (!v) {
        struct agg_val *zero = agg_zero.lookup(&zi);
        if (zero)
            http_agg.insert(&k, zero);
        v = http_agg.lookup(&k);
        if (!v) {
            emit_request(H_DONE, tgid, fd, c, status, now);  /* map full: still counted */
            return;
        }
    }
    __sync_fetch_and_add(&v->count, 1);
    __sync_fetch_and_add(&v->sum_ns, d);
    int b = bucket_of(d);
    if (b >= 0 && b < NBUCKETS)
        __sync_fetch_and_add(&v->buckets[b], 1);
}

static __always_inline void on_data(void *ctx, u8 kind, u32 tgid, u32 fd, struct conn_info *c,
                                    u64 buf, u64 n, s64 len, const int from_uprobe) {
    if (n < 4)
        return;
    u32 w = 0;
    if (bpf_probe_read_user(&w, sizeof(w), (void *)buf) != 0)
        return;
    int cls = classify(w);
    if (!cls)
        return;  /* a continuation of a message, or not HTTP */
    if (c->state == ST_SLOW) {
        emit_raw(kind, tgid, fd, c, buf, n, len);
        return;
    }
    int request_side = (c->role == ROLE_SERVER) == (kind == H_READ);
    u64 now = bpf_ktime_get_ns();
    if (cls == RESPONSE) {
        if (request_side)
            return;
        if (c->state == ST_INFLIGHT) {
            u8 st[3] = {};
            if (n < 12 || bpf_probe_read_user(st, 3, (void *)(buf + 9)) != 0 ||
                st[0] < '1' || st[0] > '5' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9') {
                count_slow(7);  /* unreadable status line */
                goto slow;
            }
            u16 status = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
            if (status < 200)
                return;  /* 1xx: the final response is still to come */
            complete(tgid, fd, c, status, now);
            c->state = ST_IDLE;
            return;
        }
        if (c->flags & CONN_SEEDED) {
            /* the first response on a connection older than the agent: its request was read
             * by a call that entered the kernel before our hooks existed. Count the loss and
             * stay on the fast path. */
            c->flags = 0;
            count_drop(3);
            return;
        }
        count_slow(5);  /* a response without a request in flight: user space counts it */
        goto slow;
    }
    if (!request_side)
        return;
    if (c->state == ST_IDLE) {
        c->method = cls;
        if (!FAST_PATH)
            goto slow;
        if (n < 16 || n > FAST_HEAD_MAX) {
            count_slow(0);  /* head too short or too long for the kernel scan */
            goto slow;
        }
        int zero = 0;
        struct scan_state *st = scan_scratch.lookup(&zero);
        /* constant-size read: the buffer may be shorter (we look at n bytes only); one that
         * ends right before unmapped memory fails the read and takes the user-space path */
        if (!st || bpf_probe_read_user(st->b, FAST_HEAD_MAX, (void *)buf) != 0) {
            count_slow(1);
            goto slow;
        }
        st->key = conn_key(tgid, fd);
        st->buf = buf;
        st->n = n;
        st->len = len;
        st->ts = now;
        st->tgid = tgid;
        st->fd = fd;
        st->kind = kind;
        /* from_uprobe is a constant at every call site: after inlining, each program refers
         * to one array only (a prog array belongs to the program type that first uses it) */
        if (from_uprobe)
            scan_progs_tls.call(ctx, 0);
        else
            scan_progs.call(ctx, 0);
        count_slow(2);  /* only reached when the tail call failed */
        goto slow;
    }
    /* a second request while one is in flight: pipelining */
    count_slow(6);
    emit_request(H_PENDING, tgid, fd, c, 0, now);
slow:
    c->state = ST_SLOW;
    emit_raw(kind, tgid, fd, c, buf, n, len);
}
