/*
 * crc32c.c - CRC-32C, by instruction where there is one (crc32c.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "crc32c.h"

#define S_POLYNOMIAL 0x82F63B78u /* 0x1EDC6F41 reflected */

static uint32_t s_table[256];

static void s_table_fill(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int bit = 0; bit < 8; bit++)
            crc = crc & 1 ? crc >> 1 ^ S_POLYNOMIAL : crc >> 1;
        s_table[i] = crc;
    }
}

static uint32_t s_by_table(uint32_t crc, const uint8_t *bytes, size_t size)
{
    while (size--)
        crc = s_table[(crc ^ *bytes++) & 0xff] ^ crc >> 8;
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t
s_by_instruction(uint32_t crc, const uint8_t *bytes, size_t size)
{
    uint64_t wide = crc;
    for (; size >= 8; size -= 8, bytes += 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        wide = __builtin_ia32_crc32di(wide, word);
    }
    crc = (uint32_t)wide;
    while (size--)
        crc = __builtin_ia32_crc32qi(crc, *bytes++);
    return crc;
}

static bool s_has_instruction(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t s_by_instruction(uint32_t crc, const uint8_t *bytes, size_t size)
{
    return s_by_table(crc, bytes, size);
}

static bool s_has_instruction(void)
{
    return false;
}
#endif

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static bool s_instruction;

static void s_choose(void)
{
    s_table_fill();
    s_instruction = s_has_instruction();
}

uint32_t crc32c(uint32_t crc, const void *data, size_t size)
{
    pthread_once(&s_once, s_choose);
    crc = ~crc;
    crc = s_instruction ? s_by_instruction(crc, data, size) : s_by_table(crc, data, size);
    return ~crc;
}
