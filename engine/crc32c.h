/*
 * crc32c.h - CRC-32C (Castagnoli, the polynomial 0x1EDC6F41 reflected, as
 * iSCSI and ext4 use it), for the node's Raft log store (node_store.h).
 *
 * On x86-64 processors with SSE 4.2 the crc32 instruction does eight bytes
 * a step; elsewhere a table does one byte.  Both give the same value: the
 * choice is made once, at the first call, from what the processor says it
 * has.  crc32c(0, "123456789", 9) is 0xE3069283.
 */
#ifndef SETTLE_CRC32C_H
#define SETTLE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of size bytes at data, continuing crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *data, size_t size);

#endif
