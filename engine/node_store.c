/*
 * node_store.c - the node's Raft log in segment files of its own
 * (node_store.h has the layout and why).
 *
 * Three threads touch a store: the loop (every public call but the ones
 * the threads run), the writer (every operation on the segments, in
 * order) and the preparer (the next segment's zeros).  The loop and the
 * writer share the queues under lock; the writer and the preparer share
 * the spare segment under the same lock.  The segment table is the
 * writer's alone once the threads run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "crc32c.h"
#include "node_store.h"
#include "settle/alloc.h"

#define S_MAGIC       "SETTLOG1"
#define S_HEADER_SIZE 32u
#define S_RECORD_SIZE 32u
#define S_ZERO_CHUNK  (1u << 20)
#define S_IOV_MAX     1024
#define S_NAME_PREFIX "segment-"
#define S_NAME_SIZE   32
#define S_PATH_SIZE   4200

typedef enum { S_APPEND, S_TRUNCATE, S_RESET, S_COMPACT, S_BARRIER } s_kind_t;

typedef struct s_op_s {
    struct s_op_s *next;
    s_kind_t kind;
    raft_index index; /* append: first; truncate: first dropped; reset: last; compact: kept */
    const struct raft_entry *entries;
    unsigned count;
    node_store_done_fn done;
    void *context;
    int status;
} s_op_t;

typedef struct {
    uint32_t seq;
    raft_index first, last; /* last < first: no entries */
} s_segment_t;

struct node_store_s {
    char dir[S_PATH_SIZE];
    size_t segment_size;
    int dir_fd;
    uv_async_t async;
    bool loaded, started;
    pthread_t writer, preparer;

    pthread_mutex_t lock;
    pthread_cond_t wake;           /* the writer: an operation, or stop */
    pthread_cond_t spare_cv;       /* the preparer: spare taken, or stop; the writer: spare ready */
    s_op_t *head, *tail;           /* queued, under lock */
    s_op_t *done_head, *done_tail; /* done, for the loop, under lock */
    bool stop, writer_exited;      /* under lock */
    bool preparer_stop;            /* under lock: set once the writer is joined */
    uint32_t next_seq;             /* under lock: the preparer's next file */
    int spare_fd;                  /* under lock: -1 none */
    uint32_t spare_seq;
    int failed; /* the writer's: the first error's status */

    /* The writer's. */
    s_segment_t *segments;
    size_t segment_count, segment_capacity;
    int current_fd; /* -1: the next append takes the spare */
    size_t current_offset;
    raft_index last_index;
    struct iovec *iov;
    uint8_t (*headers)[S_RECORD_SIZE];
    size_t iov_capacity;

    node_store_done_fn close_done;
    void *close_context;
    bool closing, closed;
};

/* Aligned for direct writes (s_prepare_one). */
static const uint8_t s_zeros[S_ZERO_CHUNK] __attribute__((aligned(4096)));

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

static void s_put32(uint8_t *at, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(value >> 8 * i);
}

static void s_put64(uint8_t *at, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        at[i] = (uint8_t)(value >> 8 * i);
}

static uint32_t s_get32(const uint8_t *at)
{
    uint32_t value = 0;
    for (int i = 3; i >= 0; i--)
        value = value << 8 | at[i];
    return value;
}

static uint64_t s_get64(const uint8_t *at)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | at[i];
    return value;
}

static size_t s_padded(size_t size)
{
    return (size + 7) & ~(size_t)7;
}

static void s_segment_header(uint8_t out[S_HEADER_SIZE], raft_index first, uint32_t seq)
{
    memset(out, 0, S_HEADER_SIZE);
    memcpy(out, S_MAGIC, 8);
    s_put64(out + 8, first);
    s_put32(out + 16, seq);
    s_put32(out + 20, crc32c(0, out, 20));
}

/* The record header of an entry; its CRC covers the header's bytes after
 * the CRC, then the data and the padding. */
static void s_record_header(uint8_t out[S_RECORD_SIZE], const struct raft_entry *entry,
                            raft_index index, uint32_t seq)
{
    memset(out, 0, S_RECORD_SIZE);
    s_put32(out + 4, (uint32_t)entry->buf.len);
    s_put64(out + 8, index);
    s_put64(out + 16, entry->term);
    out[24] = (uint8_t)entry->type;
    s_put32(out + 28, seq);
    uint32_t crc = crc32c(0, out + 4, S_RECORD_SIZE - 4);
    crc = crc32c(crc, entry->buf.base, entry->buf.len);
    crc = crc32c(crc, s_zeros, s_padded(entry->buf.len) - entry->buf.len);
    s_put32(out, crc);
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static void s_name(char out[S_NAME_SIZE], uint32_t seq)
{
    snprintf(out, S_NAME_SIZE, S_NAME_PREFIX "%08u", (unsigned)seq);
}

/* The sequence number of a segment's file name; false for other names. */
static bool s_parse_name(const char *name, uint32_t *seq_out)
{
    size_t prefix = strlen(S_NAME_PREFIX);
    if (strncmp(name, S_NAME_PREFIX, prefix) != 0 || strlen(name) != prefix + 8)
        return false;
    uint32_t seq = 0;
    for (const char *c = name + prefix; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        seq = seq * 10 + (uint32_t)(*c - '0');
    }
    *seq_out = seq;
    return true;
}

static bool s_write_all(int fd, const void *data, size_t size, off_t offset)
{
    const uint8_t *at = data;
    while (size) {
        ssize_t n = pwrite(fd, at, size, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        at += n;
        size -= (size_t)n;
        offset += n;
    }
    return true;
}

/* Writes the iovecs at offset, whatever pwritev's short writes. */
static bool s_writev_all(int fd, struct iovec *iov, size_t count, off_t offset)
{
    while (count) {
        int chunk = count > S_IOV_MAX ? S_IOV_MAX : (int)count;
        ssize_t n = pwritev(fd, iov, chunk, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        offset += n;
        size_t left = (size_t)n;
        while (count && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            count--;
        }
        if (left) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return true;
}

static bool s_unlink(node_store_t *self, uint32_t seq)
{
    char name[S_NAME_SIZE];
    s_name(name, seq);
    return unlinkat(self->dir_fd, name, 0) == 0 || errno == ENOENT;
}

/* ------------------------------------------------------------------------
 * The preparer: the next segment, zeros, synced with its folder
 * ------------------------------------------------------------------------ */

/* Writes segment_size zeros into fd, checking for stop between chunks. */
static bool s_zero_fill(node_store_t *self, int fd)
{
    for (size_t at = 0; at < self->segment_size; at += S_ZERO_CHUNK) {
        pthread_mutex_lock(&self->lock);
        bool stop = self->preparer_stop;
        pthread_mutex_unlock(&self->lock);
        size_t n = self->segment_size - at < S_ZERO_CHUNK ? self->segment_size - at : S_ZERO_CHUNK;
        if (stop || !s_write_all(fd, s_zeros, n, (off_t)at))
            return false;
    }
    return true;
}

/* A new file of segment_size zeros; -1 on failure or stop.  The zeros go
 * by direct I/O where the file system takes it: a third of the CPU of a
 * buffered write, and no page cache filled with them (segment_size is a
 * multiple of 64 KiB, node.h). */
static int s_prepare_one(node_store_t *self, uint32_t seq)
{
    char name[S_NAME_SIZE];
    s_name(name, seq);
    int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC;
    int fd = openat(self->dir_fd, name, flags | O_DIRECT, 0600);
    bool ok = fd >= 0 && s_zero_fill(self, fd);
    if (!ok) { /* no direct I/O here (tmpfs): buffered */
        if (fd >= 0)
            close(fd);
        fd = openat(self->dir_fd, name, flags, 0600);
        ok = fd >= 0 && s_zero_fill(self, fd);
    }
    if (ok)
        ok = fdatasync(fd) == 0 && fsync(self->dir_fd) == 0;
    if (ok && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT) != 0)
        ok = false;
    if (!ok) {
        if (fd >= 0)
            close(fd);
        unlinkat(self->dir_fd, name, 0);
        return -1;
    }
    return fd;
}

static void *s_preparer(void *argument)
{
    (void)prctl(PR_SET_NAME, "settled-logprep", 0, 0, 0); /* in top -H, perf */
    node_store_t *self = argument;
    pthread_mutex_lock(&self->lock);
    while (!self->preparer_stop) {
        if (self->spare_fd >= 0) {
            pthread_cond_wait(&self->spare_cv, &self->lock);
            continue;
        }
        uint32_t seq = self->next_seq++;
        pthread_mutex_unlock(&self->lock);
        int fd = s_prepare_one(self, seq);
        pthread_mutex_lock(&self->lock);
        if (fd < 0) {
            /* The writer finds no spare and fails its append. */
            self->spare_seq = 0;
            self->spare_fd = -2;
            pthread_cond_broadcast(&self->spare_cv);
            break;
        }
        self->spare_fd = fd;
        self->spare_seq = seq;
        pthread_cond_broadcast(&self->spare_cv);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

/* The writer takes the spare, waiting for it; false when there is none to
 * come. */
static bool s_take_spare(node_store_t *self, int *fd_out, uint32_t *seq_out)
{
    pthread_mutex_lock(&self->lock);
    while (self->spare_fd == -1)
        pthread_cond_wait(&self->spare_cv, &self->lock);
    bool ok = self->spare_fd >= 0;
    if (ok) {
        *fd_out = self->spare_fd;
        *seq_out = self->spare_seq;
        self->spare_fd = -1;
        pthread_cond_broadcast(&self->spare_cv);
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}

/* ------------------------------------------------------------------------
 * The writer's operations
 * ------------------------------------------------------------------------ */

static bool s_segments_reserve(node_store_t *self)
{
    if (self->segment_count < self->segment_capacity)
        return true;
    size_t grown = self->segment_capacity ? 2 * self->segment_capacity : 16;
    s_segment_t *segments = settle_realloc(self->segments, grown * sizeof *segments);
    if (!segments)
        return false;
    self->segments = segments;
    self->segment_capacity = grown;
    return true;
}

static void s_current_close(node_store_t *self)
{
    if (self->current_fd >= 0)
        close(self->current_fd);
    self->current_fd = -1;
}

/* Deletes segments [from, segment_count) newest first, so that a crash
 * leaves a contiguous log. */
static bool s_drop_from(node_store_t *self, size_t from)
{
    bool ok = true;
    if (from < self->segment_count)
        s_current_close(self); /* the writer is only ever in the last */
    while (self->segment_count > from)
        ok = s_unlink(self, self->segments[--self->segment_count].seq) && ok;
    return ok;
}

static uint8_t *s_read(node_store_t *self, uint32_t seq, size_t *size_out);

/* The offset of index's record in segment: the file read once, its
 * record headers walked in memory (a truncation, rare). */
static bool s_record_offset(node_store_t *self, const s_segment_t *segment, raft_index index,
                            off_t *offset_out)
{
    size_t size, at = S_HEADER_SIZE;
    uint8_t *bytes = s_read(self, segment->seq, &size);
    bool ok = bytes != NULL;
    for (raft_index i = segment->first; ok && i < index; i++) {
        ok = at <= size && size - at >= S_RECORD_SIZE;
        if (ok)
            at += S_RECORD_SIZE + s_padded(s_get32(bytes + at + 4));
    }
    raft_free(bytes);
    *offset_out = (off_t)at;
    return ok && at <= size;
}

/* Drops index and after: whole segments past it first, then the record
 * at the cut overwritten with zeros (node_store.h). */
static bool s_truncate(node_store_t *self, raft_index index)
{
    if (index > self->last_index)
        return true;
    size_t keep = 0;
    while (keep < self->segment_count && self->segments[keep].first < index)
        keep++;
    s_current_close(self);
    if (!s_drop_from(self, keep) || fsync(self->dir_fd) != 0)
        return false;
    self->last_index = index - 1;
    if (keep == 0)
        return true;
    s_segment_t *segment = &self->segments[keep - 1];
    if (segment->last < index) /* the cut is at its end already */
        return true;
    off_t offset;
    char name[S_NAME_SIZE];
    s_name(name, segment->seq);
    if (!s_record_offset(self, segment, index, &offset))
        return false;
    int fd = openat(self->dir_fd, name, O_RDWR | O_CLOEXEC);
    bool ok = fd >= 0 && s_write_all(fd, s_zeros, S_RECORD_SIZE, offset) && fdatasync(fd) == 0;
    if (fd >= 0)
        close(fd);
    segment->last = index - 1;
    return ok;
}

static bool s_compact(node_store_t *self, raft_index keep_from)
{
    size_t drop = 0; /* never the last segment: the writer may be in it */
    while (drop + 1 < self->segment_count && self->segments[drop].last < keep_from)
        drop++;
    if (!drop)
        return true;
    bool ok = true;
    for (size_t i = 0; i < drop; i++)
        ok = s_unlink(self, self->segments[i].seq) && ok;
    memmove(self->segments, self->segments + drop,
            (self->segment_count - drop) * sizeof *self->segments);
    self->segment_count -= drop;
    return ok;
}

/* Opens a new segment for entries from first: the spare, its header
 * written with the batch. */
static bool s_switch(node_store_t *self, raft_index first)
{
    s_current_close(self);
    int fd;
    uint32_t seq;
    if (!s_segments_reserve(self) || !s_take_spare(self, &fd, &seq))
        return false;
    self->current_fd = fd;
    self->current_offset = 0;
    self->segments[self->segment_count++] = (s_segment_t){seq, first, first - 1};
    return true;
}

static bool s_iov_reserve(node_store_t *self, size_t needed)
{
    if (needed <= self->iov_capacity)
        return true;
    size_t grown = self->iov_capacity ? self->iov_capacity : 256;
    while (grown < needed)
        grown *= 2;
    struct iovec *iov = settle_realloc(self->iov, grown * sizeof *iov);
    if (iov)
        self->iov = iov;
    uint8_t(*headers)[S_RECORD_SIZE] =
        iov ? settle_realloc(self->headers, grown * sizeof *headers) : NULL;
    if (!headers)
        return false;
    self->headers = headers;
    self->iov_capacity = grown;
    return true;
}

/*
 * Gives back the page cache of the whole pages a synced write of bytes at
 * offset finished (the last, partial one stays: the next write ends it).
 * Nothing reads them again while the node runs (libraft keeps its entries
 * in memory; only a start or a truncation reads a segment), and kept they
 * would grow the page cache by every byte of the log.  Freed, the kernel
 * hands the same memory to the next write: on a virtual machine whose host
 * takes back a guest's free memory, a page the guest has not touched for a
 * while costs several microseconds to touch again, and under load that
 * was most of the writer's time.  A hint: a refusal changes nothing.
 */
static void s_drop_cached(int fd, off_t offset, size_t bytes)
{
    long size = sysconf(_SC_PAGESIZE);
    off_t page = size > 0 ? (off_t)size : 4096;
    off_t from = offset / page * page, to = (offset + (off_t)bytes) / page * page;
    if (to > from)
        (void)posix_fadvise(fd, from, to - from, POSIX_FADV_DONTNEED);
}

/* Writes the appends first..end (a run of S_APPEND in index order) in one
 * pwritev and one fdatasync. */
static bool s_append_run(node_store_t *self, s_op_t *first, s_op_t *end)
{
    size_t entries = 0, bytes = 0;
    for (s_op_t *op = first; op != end; op = op->next) {
        entries += op->count;
        for (unsigned i = 0; i < op->count; i++)
            bytes += S_RECORD_SIZE + s_padded(op->entries[i].buf.len);
    }
    if (!entries)
        return true;
    if (first->index <= self->last_index && !s_truncate(self, first->index))
        return false;
    if (first->index != self->last_index + 1 && self->segment_count &&
        self->segments[self->segment_count - 1].last >=
            self->segments[self->segment_count - 1].first)
        return false; /* a gap after stored entries: node_io never asks for one */
    bool fresh =
        self->current_fd < 0 || first->index != self->last_index + 1 ||
        (self->current_offset > S_HEADER_SIZE && self->current_offset + bytes > self->segment_size);
    if (fresh && !s_switch(self, first->index))
        return false;
    if (!s_iov_reserve(self, 3 * entries + 1)) /* header, data, padding; a segment header */
        return false;
    s_segment_t *segment = &self->segments[self->segment_count - 1];
    uint8_t segment_header[S_HEADER_SIZE];
    size_t n = 0, h = 0;
    off_t offset = (off_t)self->current_offset;
    if (self->current_offset == 0) {
        s_segment_header(segment_header, first->index, segment->seq);
        self->iov[n++] = (struct iovec){segment_header, S_HEADER_SIZE};
        bytes += S_HEADER_SIZE;
    }
    raft_index index = first->index;
    for (s_op_t *op = first; op != end; op = op->next) {
        for (unsigned i = 0; i < op->count; i++, index++, h++) {
            const struct raft_entry *entry = &op->entries[i];
            s_record_header(self->headers[h], entry, index, segment->seq);
            self->iov[n++] = (struct iovec){self->headers[h], S_RECORD_SIZE};
            if (entry->buf.len)
                self->iov[n++] = (struct iovec){entry->buf.base, entry->buf.len};
            size_t pad = s_padded(entry->buf.len) - entry->buf.len;
            if (pad)
                self->iov[n++] = (struct iovec){(void *)s_zeros, pad};
        }
    }
    if (!s_writev_all(self->current_fd, self->iov, n, offset) || fdatasync(self->current_fd) != 0)
        return false;
    s_drop_cached(self->current_fd, offset, bytes);
    self->current_offset += bytes;
    self->last_index = index - 1;
    segment->last = index - 1;
    return true;
}

/* Runs ops in order, marking each op's status. */
static void s_run(node_store_t *self, s_op_t *ops)
{
    for (s_op_t *op = ops; op;) {
        s_op_t *end = op->next;
        if (op->kind == S_APPEND) {
            raft_index next = op->index;
            for (s_op_t *o = op; o && o->kind == S_APPEND && o->index == next; o = o->next) {
                next += o->count;
                end = o->next;
            }
        }
        bool ok = !self->failed;
        if (ok) {
            switch (op->kind) {
            case S_APPEND:
                ok = s_append_run(self, op, end);
                break;
            case S_TRUNCATE:
                ok = s_truncate(self, op->index);
                break;
            case S_RESET:
                s_current_close(self);
                ok = s_drop_from(self, 0) && fsync(self->dir_fd) == 0;
                self->last_index = op->index;
                break;
            case S_COMPACT:
                ok = s_compact(self, op->index);
                break;
            case S_BARRIER:
                break;
            }
            if (!ok)
                self->failed = RAFT_IOERR;
        }
        for (s_op_t *o = op; o != end; o = o->next)
            o->status = ok ? 0 : RAFT_IOERR;
        op = end;
    }
}

static void *s_writer(void *argument)
{
    (void)prctl(PR_SET_NAME, "settled-log", 0, 0, 0); /* in top -H, perf */
    node_store_t *self = argument;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->head && !self->stop)
            pthread_cond_wait(&self->wake, &self->lock);
        s_op_t *ops = self->head, *last = self->tail;
        self->head = self->tail = NULL;
        if (!ops && self->stop)
            break;
        pthread_mutex_unlock(&self->lock);
        s_run(self, ops);
        pthread_mutex_lock(&self->lock);
        if (self->done_tail)
            self->done_tail->next = ops;
        else
            self->done_head = ops;
        self->done_tail = last;
        uv_async_send(&self->async);
    }
    self->writer_exited = true;
    pthread_mutex_unlock(&self->lock);
    uv_async_send(&self->async);
    return NULL;
}

/* Tells the writer to finish what is queued and exit. */
static void s_stop_writer(node_store_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

/* ------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------ */

static int s_seq_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t node_store_scan(const uint8_t *bytes, size_t size, uint32_t seq, raft_index *first_out,
                       size_t *end_out)
{
    *first_out = 0;
    *end_out = 0;
    if (size < S_HEADER_SIZE || memcmp(bytes, S_MAGIC, 8) != 0 ||
        s_get32(bytes + 20) != crc32c(0, bytes, 20) || s_get32(bytes + 16) != seq ||
        s_get64(bytes + 8) == 0 || s_get64(bytes + 8) > UINT64_MAX / 2)
        return 0;
    raft_index first = s_get64(bytes + 8);
    size_t at = S_HEADER_SIZE, count = 0;
    while (size - at >= S_RECORD_SIZE) {
        const uint8_t *h = bytes + at;
        size_t length = s_get32(h + 4), room = size - at - S_RECORD_SIZE;
        if (length > room || s_padded(length) > room || s_get64(h + 8) != first + count ||
            s_get32(h + 28) != seq ||
            (h[24] != RAFT_COMMAND && h[24] != RAFT_BARRIER && h[24] != RAFT_CHANGE))
            break;
        uint32_t crc =
            crc32c(crc32c(0, h + 4, S_RECORD_SIZE - 4), h + S_RECORD_SIZE, s_padded(length));
        if (crc != s_get32(h))
            break;
        count++;
        at += S_RECORD_SIZE + s_padded(length);
    }
    *first_out = first;
    *end_out = at;
    return count;
}

/* The whole file, in a raft_malloc'd buffer (it becomes the entries'
 * batch); NULL on failure. */
static uint8_t *s_read(node_store_t *self, uint32_t seq, size_t *size_out)
{
    char name[S_NAME_SIZE];
    s_name(name, seq);
    int fd = openat(self->dir_fd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, done = 0;
    uint8_t *bytes = raft_malloc(size ? size : 1);
    while (bytes && done < size) {
        ssize_t n = pread(fd, bytes + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    if (bytes && done < size) {
        raft_free(bytes);
        bytes = NULL;
    }
    *size_out = size;
    return bytes;
}

/* The sequence numbers of the folder's segments, ascending. */
static int s_list(node_store_t *self, uint32_t **seqs_out, size_t *count_out, settle_error_t *error)
{
    int fd = dup(self->dir_fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot list: %s", self->dir,
                                strerror(errno));
    }
    uint32_t *seqs = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        uint32_t seq;
        if (!s_parse_name(e->d_name, &seq))
            continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            uint32_t *grown = settle_realloc(seqs, capacity * sizeof *seqs);
            if (!grown) {
                settle_free(seqs);
                closedir(dir);
                return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
            }
            seqs = grown;
        }
        seqs[count++] = seq;
    }
    closedir(dir);
    if (count)
        qsort(seqs, count, sizeof *seqs, s_seq_compare);
    *seqs_out = seqs;
    *count_out = count;
    return SETTLE_OK;
}

/* The loaded segments' bytes, kept until their entries are handed out. */
typedef struct {
    uint8_t *bytes;
    size_t count;
} s_loaded_t;

/* Reads each listed segment into loaded[] and self->segments.  The empty
 * ones (a spare, a first write that never completed) must all come after
 * the last that holds entries, and are then unlinked; one before it is a
 * damaged segment, reported and left in place. */
static int s_read_all(node_store_t *self, const uint32_t *seqs, size_t n, s_loaded_t *loaded,
                      size_t *total_out, settle_error_t *error)
{
    size_t total = 0, empty_from = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        char name[S_NAME_SIZE];
        s_name(name, seqs[i]);
        size_t size, end;
        raft_index first = 0;
        uint8_t *bytes = s_read(self, seqs[i], &size);
        if (!bytes)
            return settle_error_set(error, SETTLE_ERR_IO, "%s/%s: cannot read: %s", self->dir, name,
                                    strerror(errno));
        size_t count = node_store_scan(bytes, size, seqs[i], &first, &end);
        if (!count) {
            raft_free(bytes);
            if (empty_from == SIZE_MAX)
                empty_from = i;
            continue;
        }
        raft_index expected = self->segment_count ? self->last_index + 1 : first;
        if (empty_from != SIZE_MAX || first != expected || !s_segments_reserve(self)) {
            char empty[S_NAME_SIZE];
            s_name(empty, empty_from != SIZE_MAX ? seqs[empty_from] : 0);
            raft_free(bytes);
            if (empty_from != SIZE_MAX)
                return settle_error_set(error, SETTLE_ERR_IO,
                                        "%s/%s: no valid entry at its start, but %s after it "
                                        "holds entries: the Raft log is damaged",
                                        self->dir, empty, name);
            return settle_error_set(error, SETTLE_ERR_IO,
                                    "%s/%s: the Raft log is not contiguous: this segment starts "
                                    "at entry %llu, where entry %llu was expected",
                                    self->dir, name, (unsigned long long)first,
                                    (unsigned long long)expected);
        }
        uint8_t *kept = end < size ? raft_realloc(bytes, end) : NULL; /* not the zeros after */
        loaded[self->segment_count] = (s_loaded_t){kept ? kept : bytes, count};
        self->segments[self->segment_count++] = (s_segment_t){seqs[i], first, first + count - 1};
        self->last_index = first + count - 1;
        total += count;
    }
    for (size_t i = empty_from; i < n; i++) {
        char name[S_NAME_SIZE];
        s_name(name, seqs[i]);
        if (!s_unlink(self, seqs[i]))
            return settle_error_set(error, SETTLE_ERR_IO, "%s/%s: cannot remove: %s", self->dir,
                                    name, strerror(errno));
    }
    *total_out = total;
    return SETTLE_OK;
}

/* The entries of the loaded segments, for libraft; takes the buffers. */
static struct raft_entry *s_entries(node_store_t *self, s_loaded_t *loaded, size_t total)
{
    struct raft_entry *entries = total ? raft_calloc(total, sizeof *entries) : NULL;
    if (total && !entries)
        return NULL;
    size_t k = 0;
    for (size_t s = 0; s < self->segment_count; s++) {
        size_t at = S_HEADER_SIZE;
        for (size_t i = 0; i < loaded[s].count; i++, k++) {
            const uint8_t *h = loaded[s].bytes + at;
            size_t length = s_get32(h + 4);
            entries[k].term = s_get64(h + 16);
            entries[k].type = h[24];
            entries[k].buf.base = loaded[s].bytes + at + S_RECORD_SIZE;
            entries[k].buf.len = length;
            entries[k].batch = loaded[s].bytes;
            at += S_RECORD_SIZE + s_padded(length);
        }
        loaded[s].bytes = NULL;
    }
    return entries;
}

/* Syncs the folder holding path (a folder just made in it). */
static bool s_sync_parent(const char *path)
{
    char parent[S_PATH_SIZE];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(parent, sizeof parent, ".");
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int s_start_threads(node_store_t *self, settle_error_t *error)
{
    if (pthread_create(&self->writer, NULL, s_writer, self) != 0)
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot start the log writer", self->dir);
    if (pthread_create(&self->preparer, NULL, s_preparer, self) != 0) {
        s_stop_writer(self);
        pthread_join(self->writer, NULL); /* it never waits for a spare: nothing queued */
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot start the log preparer",
                                self->dir);
    }
    self->started = true;
    return SETTLE_OK;
}

int node_store_load(node_store_t *self, raft_index *first_out, struct raft_entry **entries_out,
                    size_t *count_out, settle_error_t *error)
{
    *first_out = 0;
    *entries_out = NULL;
    *count_out = 0;
    if (self->loaded)
        return settle_error_set(error, SETTLE_ERR_INVALID, "%s: loaded twice", self->dir);
    bool created = mkdir(self->dir, 0700) == 0;
    if (!created && errno != EEXIST)
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot create: %s", self->dir,
                                strerror(errno));
    if (created && !s_sync_parent(self->dir))
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot sync its folder: %s", self->dir,
                                strerror(errno));
    self->dir_fd = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dir_fd < 0)
        return settle_error_set(error, SETTLE_ERR_IO, "%s: cannot open: %s", self->dir,
                                strerror(errno));
    uint32_t *seqs = NULL;
    size_t n = 0, total = 0;
    int rc = s_list(self, &seqs, &n, error);
    if (rc != SETTLE_OK)
        return rc;
    self->next_seq = n ? seqs[n - 1] + 1 : 1;
    s_loaded_t *loaded = n ? settle_calloc(n, sizeof *loaded) : NULL;
    if (n && !loaded)
        rc = settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    if (rc == SETTLE_OK)
        rc = s_read_all(self, seqs, n, loaded, &total, error);
    if (rc == SETTLE_OK && fsync(self->dir_fd) != 0)
        rc = settle_error_set(error, SETTLE_ERR_IO, "%s: cannot sync: %s", self->dir,
                              strerror(errno));
    struct raft_entry *entries = NULL;
    if (rc == SETTLE_OK && !(entries = s_entries(self, loaded, total)) && total)
        rc = settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; loaded && i < self->segment_count; i++)
        raft_free(loaded[i].bytes);
    settle_free(loaded);
    settle_free(seqs);
    if (rc == SETTLE_OK)
        rc = s_start_threads(self, error);
    if (rc != SETTLE_OK) {
        if (entries)
            node_store_entries_free(entries, total);
        return rc;
    }
    self->loaded = true;
    *first_out = self->segment_count ? self->segments[0].first : 0;
    *entries_out = entries;
    *count_out = total;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * The loop's side
 * ------------------------------------------------------------------------ */

/* The writer first: it may still wait for the spare the preparer makes. */
static void s_join(node_store_t *self)
{
    if (!self->started)
        return;
    pthread_join(self->writer, NULL);
    pthread_mutex_lock(&self->lock);
    self->preparer_stop = true;
    pthread_cond_broadcast(&self->spare_cv);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->preparer, NULL);
    self->started = false;
}

static void s_async(uv_async_t *async)
{
    node_store_t *self = async->data;
    pthread_mutex_lock(&self->lock);
    s_op_t *ops = self->done_head;
    self->done_head = self->done_tail = NULL;
    bool exited = self->writer_exited || !self->started;
    pthread_mutex_unlock(&self->lock);
    while (ops) {
        s_op_t *next = ops->next;
        if (ops->done)
            ops->done(ops->context, ops->status);
        settle_free(ops);
        ops = next;
    }
    if (self->closing && !self->closed && exited) {
        s_join(self);
        self->closed = true;
        if (self->close_done)
            self->close_done(self->close_context, 0);
    }
}

static int s_queue(node_store_t *self, s_kind_t kind, raft_index index,
                   const struct raft_entry *entries, unsigned count, node_store_done_fn done,
                   void *context)
{
    if (!self->started || self->closing)
        return RAFT_IOERR;
    s_op_t *op = settle_calloc(1, sizeof *op);
    if (!op)
        return RAFT_NOMEM;
    *op = (s_op_t){NULL, kind, index, entries, count, done, context, 0};
    pthread_mutex_lock(&self->lock);
    if (self->tail)
        self->tail->next = op;
    else
        self->head = op;
    self->tail = op;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    /* The woken writer often lands on this thread's CPU, and the loop goes
     * on to apply (a follower's deferred entries) before it polls again:
     * letting the writer start its write first took 40 to 90 us off
     * scenario (a)'s p50 (engine/README.md, "The log store"). */
    if (kind == S_APPEND)
        sched_yield();
    return 0;
}

int node_store_append(node_store_t *self, raft_index first, const struct raft_entry *entries,
                      unsigned count, node_store_done_fn done, void *context)
{
    return s_queue(self, S_APPEND, first, entries, count, done, context);
}

int node_store_truncate(node_store_t *self, raft_index index)
{
    return s_queue(self, S_TRUNCATE, index, NULL, 0, NULL, NULL);
}

int node_store_reset(node_store_t *self, raft_index last)
{
    return s_queue(self, S_RESET, last, NULL, 0, NULL, NULL);
}

int node_store_compact(node_store_t *self, raft_index keep_from)
{
    return s_queue(self, S_COMPACT, keep_from, NULL, 0, NULL, NULL);
}

int node_store_barrier(node_store_t *self, node_store_done_fn done, void *context)
{
    return s_queue(self, S_BARRIER, 0, NULL, 0, done, context);
}

node_store_t *node_store_new(uv_loop_t *loop, const char *dir, size_t segment_size)
{
    node_store_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->dir, sizeof self->dir, "%s", dir);
    self->segment_size = segment_size < S_ZERO_CHUNK ? S_ZERO_CHUNK : segment_size;
    self->dir_fd = -1;
    self->current_fd = -1;
    self->spare_fd = -1;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    pthread_cond_init(&self->spare_cv, NULL);
    uv_async_init(loop, &self->async, s_async);
    self->async.data = self;
    return self;
}

void node_store_close(node_store_t *self, node_store_done_fn done, void *context)
{
    self->closing = true;
    self->close_done = done;
    self->close_context = context;
    s_stop_writer(self);
    uv_async_send(&self->async); /* never started: done on the next turn */
}

static void s_freed(uv_handle_t *handle)
{
    node_store_t *self = handle->data;
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->wake);
    pthread_cond_destroy(&self->spare_cv);
    settle_free(self);
}

void node_store_free(node_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_store_t *self = *self_p;
    *self_p = NULL;
    if (!self->closing)
        s_stop_writer(self);
    s_join(self);
    for (s_op_t *op = self->head; op;) {
        s_op_t *next = op->next;
        settle_free(op);
        op = next;
    }
    for (s_op_t *op = self->done_head; op;) {
        s_op_t *next = op->next;
        settle_free(op);
        op = next;
    }
    s_current_close(self);
    if (self->spare_fd >= 0)
        close(self->spare_fd);
    if (self->dir_fd >= 0)
        close(self->dir_fd);
    settle_free(self->segments);
    settle_free(self->iov);
    settle_free(self->headers);
    uv_close((uv_handle_t *)&self->async, s_freed);
}

void node_store_entries_free(struct raft_entry *entries, size_t count)
{
    void *batch = NULL;
    for (size_t i = 0; i < count; i++) {
        if (entries[i].batch != batch) {
            batch = entries[i].batch;
            raft_free(batch);
        }
    }
    raft_free(entries);
}
