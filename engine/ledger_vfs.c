/*
 * ledger_vfs.c - a thin VFS over SQLite's default one that gathers the
 * writes to the ledger's WAL into few system calls.
 *
 * SQLite writes each WAL frame with two pwrite calls (its 24-byte header,
 * then the page), so an entry's commit of some 24 pages costs about 48
 * system calls; on the virtual machines we run on, a system call costs
 * more than copying the 8 KiB it carries.  Here the WAL file's writes that
 * follow one another are appended to a buffer and written with one pwrite
 * when the commit's last frame is in (a frame header whose "database size"
 * field is not zero marks the commit frame), or before anything that must
 * see the file as SQLite believes it is: a read, a sync, a truncation, the
 * size, a file control, closing, a write elsewhere in the file, a full
 * buffer.  Because the commit flushes inside its own last xWrite, an I/O
 * error fails the commit exactly as it would without the buffer, and the
 * frames are in the file before SQLite publishes them in the wal-index
 * (shared memory), so a reader in another process never reads a frame
 * that is not there.  As a second guard, the database file's shared-memory
 * calls (barrier, lock) flush its WAL's buffer too.
 *
 * Nothing else changes: the database file's own writes and every other
 * call go straight to the default VFS.  The database file's writes (a
 * checkpoint's pages) are not gathered, though that saved another 3%: a
 * checkpoint's last write is followed by no call that can report a failed
 * deferred write (SQLite only hints SQLITE_FCNTL_CKPT_DONE and ignores the
 * answer), so a disk-full error could be lost and the WAL marked as copied
 * when it was not.  The VFS is registered once per process under
 * LEDGER_VFS_NAME, not as the default.
 */
#include <pthread.h>
#include <stdbool.h>

#include "ledger_internal.h"

#define LEDGER_VFS_NAME "settle-ledger"
/* The unix VFS writes at most 0x1ffff bytes per call (seekAndWriteFd masks
 * the count to 17 bits; more is refused as a full disk), so the buffer is
 * that: 15 frames of 8 KiB, two writes for a batch of a hundred claims. */
#define S_BUFFER_SIZE         0x1ffff
#define S_FRAME_HEADER_SIZE   24 /* SQLite's WAL frame header */
#define S_FRAME_COMMIT_OFFSET 4  /* its "database size after commit" */

typedef struct s_file_s s_file_t;

struct s_file_s {
    sqlite3_file base;     /* base.pMethods is s_methods */
    sqlite3_file *real;    /* the default VFS's file, in the bytes after this */
    bool wal;              /* a WAL file: its writes are gathered */
    bool commit_header;    /* the last write was a commit frame's header */
    unsigned char *buffer; /* S_BUFFER_SIZE, made on the first write */
    int used;
    sqlite3_int64 offset; /* where buffer[0] belongs in the file */
    s_file_t *linked;     /* WAL: its database file; database: its WAL */
};

static sqlite3_vfs *s_default;
static sqlite3_vfs s_vfs;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static bool s_registered;

/* Writes what the buffer holds; the buffer is empty afterwards, whatever
 * the outcome (SQLite treats a failed write as the transaction's end). */
static int s_flush(s_file_t *self)
{
    if (!self || self->used == 0)
        return SQLITE_OK;
    int rc = self->real->pMethods->xWrite(self->real, self->buffer, self->used, self->offset);
    self->used = 0;
    return rc;
}

/* The database file's buffer and its WAL's, before shared memory changes. */
static int s_flush_both(s_file_t *self)
{
    int rc = s_flush(self->linked);
    int own = s_flush(self);
    return rc == SQLITE_OK ? own : rc;
}

static int s_close(sqlite3_file *file)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    if (self->linked)
        self->linked->linked = NULL;
    int closed = self->real->pMethods->xClose(self->real);
    sqlite3_free(self->buffer);
    self->buffer = NULL;
    return rc == SQLITE_OK ? closed : rc;
}

static int s_read(sqlite3_file *file, void *data, int size, sqlite3_int64 offset)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    return rc == SQLITE_OK ? self->real->pMethods->xRead(self->real, data, size, offset) : rc;
}

static uint32_t s_get32(const unsigned char *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

/* The WAL's writes: appended while each follows the last, flushed at the
 * end of the commit frame (the page after a commit header). */
static int s_write(sqlite3_file *file, const void *data, int size, sqlite3_int64 offset)
{
    s_file_t *self = (s_file_t *)file;
    if (!self->wal)
        return self->real->pMethods->xWrite(self->real, data, size, offset);
    bool follows = self->used > 0 && offset == self->offset + self->used;
    if (!follows || size > S_BUFFER_SIZE - self->used) {
        int rc = s_flush(self);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (!self->buffer)
        self->buffer = sqlite3_malloc(S_BUFFER_SIZE);
    if (!self->buffer || size > S_BUFFER_SIZE) /* no memory, or too big: as is */
        return self->real->pMethods->xWrite(self->real, data, size, offset);
    if (self->used == 0)
        self->offset = offset;
    memcpy(self->buffer + self->used, data, (size_t)size);
    self->used += size;
    bool commit_page = self->commit_header && size != S_FRAME_HEADER_SIZE;
    self->commit_header = self->wal && size == S_FRAME_HEADER_SIZE &&
                          s_get32((const unsigned char *)data + S_FRAME_COMMIT_OFFSET) != 0;
    return commit_page ? s_flush(self) : SQLITE_OK;
}

static int s_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    return rc == SQLITE_OK ? self->real->pMethods->xTruncate(self->real, size) : rc;
}

static int s_sync(sqlite3_file *file, int flags)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    return rc == SQLITE_OK ? self->real->pMethods->xSync(self->real, flags) : rc;
}

static int s_file_size(sqlite3_file *file, sqlite3_int64 *size_out)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    return rc == SQLITE_OK ? self->real->pMethods->xFileSize(self->real, size_out) : rc;
}

static int s_lock(sqlite3_file *file, int level)
{
    s_file_t *self = (s_file_t *)file;
    return self->real->pMethods->xLock(self->real, level);
}

static int s_unlock(sqlite3_file *file, int level)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    int unlocked = self->real->pMethods->xUnlock(self->real, level);
    return rc == SQLITE_OK ? unlocked : rc;
}

static int s_check_reserved_lock(sqlite3_file *file, int *out)
{
    s_file_t *self = (s_file_t *)file;
    return self->real->pMethods->xCheckReservedLock(self->real, out);
}

static int s_file_control(sqlite3_file *file, int op, void *argument)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    if (rc != SQLITE_OK)
        return rc;
    if (op == SQLITE_FCNTL_VFSNAME) {
        /* What SQLite asks the VFS stack for: name ours, then the rest. */
        char *below = NULL;
        self->real->pMethods->xFileControl(self->real, op, &below);
        *(char **)argument = sqlite3_mprintf("%s/%z", LEDGER_VFS_NAME, below);
        return SQLITE_OK;
    }
    return self->real->pMethods->xFileControl(self->real, op, argument);
}

static int s_sector_size(sqlite3_file *file)
{
    s_file_t *self = (s_file_t *)file;
    return self->real->pMethods->xSectorSize(self->real);
}

static int s_device_characteristics(sqlite3_file *file)
{
    s_file_t *self = (s_file_t *)file;
    return self->real->pMethods->xDeviceCharacteristics(self->real);
}

/* The database file's shared memory: its WAL's buffer is written first
 * (the second guard; the commit frame has flushed it already). */
static int s_shm_map(sqlite3_file *file, int page, int page_size, int extend,
                     void volatile **memory_out)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush_both(self);
    return rc == SQLITE_OK
               ? self->real->pMethods->xShmMap(self->real, page, page_size, extend, memory_out)
               : rc;
}

static int s_shm_lock(sqlite3_file *file, int offset, int count, int flags)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush_both(self);
    return rc == SQLITE_OK ? self->real->pMethods->xShmLock(self->real, offset, count, flags) : rc;
}

static void s_shm_barrier(sqlite3_file *file)
{
    s_file_t *self = (s_file_t *)file;
    s_flush_both(self); /* cannot fail the barrier; see the top */
    self->real->pMethods->xShmBarrier(self->real);
}

static int s_shm_unmap(sqlite3_file *file, int delete_flag)
{
    s_file_t *self = (s_file_t *)file;
    s_flush_both(self);
    return self->real->pMethods->xShmUnmap(self->real, delete_flag);
}

static int s_fetch(sqlite3_file *file, sqlite3_int64 offset, int size, void **page_out)
{
    s_file_t *self = (s_file_t *)file;
    int rc = s_flush(self);
    return rc == SQLITE_OK ? self->real->pMethods->xFetch(self->real, offset, size, page_out) : rc;
}

static int s_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    s_file_t *self = (s_file_t *)file;
    return self->real->pMethods->xUnfetch(self->real, offset, page);
}

static const sqlite3_io_methods s_methods = {
    .iVersion = 3,
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_file_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_reserved_lock,
    .xFileControl = s_file_control,
    .xSectorSize = s_sector_size,
    .xDeviceCharacteristics = s_device_characteristics,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
    .xFetch = s_fetch,
    .xUnfetch = s_unfetch,
};

/* Opens the file with the default VFS, inside ours.  A WAL file is linked
 * to its database file (sqlite3_database_file_object), when that one is
 * ours too, for the shared-memory guard. */
static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *flags_out)
{
    (void)vfs;
    s_file_t *self = (s_file_t *)file;
    memset(self, 0, sizeof *self);
    self->real = (sqlite3_file *)(self + 1);
    int rc = s_default->xOpen(s_default, name, self->real, flags, flags_out);
    if (rc != SQLITE_OK) {
        if (self->real->pMethods)
            self->real->pMethods->xClose(self->real);
        self->base.pMethods = NULL;
        return rc;
    }
    if (self->real->pMethods->iVersion < 3) {
        self->real->pMethods->xClose(self->real);
        self->base.pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    self->base.pMethods = &s_methods;
    self->wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (self->wal && name) {
        sqlite3_file *database = sqlite3_database_file_object(name);
        if (database && database->pMethods == &s_methods) {
            self->linked = (s_file_t *)database;
            self->linked->linked = self;
        }
    }
    return SQLITE_OK;
}

static void s_register(void)
{
    s_default = sqlite3_vfs_find(NULL);
    if (!s_default || s_default->iVersion < 1)
        return;
    /* Everything but opening is the default VFS's own: its functions get
     * our copy of its record, with its appdata and sizes. */
    s_vfs = *s_default;
    s_vfs.pNext = NULL;
    s_vfs.zName = LEDGER_VFS_NAME;
    s_vfs.szOsFile = (int)sizeof(s_file_t) + s_default->szOsFile;
    s_vfs.xOpen = s_open;
    s_registered = sqlite3_vfs_register(&s_vfs, 0) == SQLITE_OK;
}

const char *ledger_vfs_name(void)
{
    pthread_once(&s_once, s_register);
    return s_registered ? LEDGER_VFS_NAME : NULL;
}
