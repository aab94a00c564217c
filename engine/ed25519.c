/*
 * ed25519.c - Ed25519 verification, alone or in batches (ed25519.h says
 * what is checked and why).  The field is GF(2^255 - 19) in five 51-bit
 * limbs; points are extended twisted Edwards coordinates (X:Y:Z:T) with
 * x = X/Z, y = Y/Z, xy = T/Z on -x^2 + y^2 = 1 + d x^2 y^2 (Hisil, Wong,
 * Carter and Dawson, 2008); scalars are reduced modulo L with OpenSSL's
 * BIGNUM.  The constants were computed from their definitions (d =
 * -121665/121666, sqrt(-1) = 2^((p-1)/4), B the point with y = 4/5 and x
 * even); tests/unit/test_ed25519.c checks them and checks this against
 * OpenSSL's own verification.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "ed25519.h"
#include "settle/alloc.h"
#include "settle/error.h"

/* ------------------------------------------------------------------------
 * The field: five limbs of 51 bits, value = sum v[i] 2^(51 i).  Limbs stay
 * below 2^52 between operations (add and sub carry once), so products fit
 * in 128 bits with room to spare.
 * ------------------------------------------------------------------------ */

typedef struct {
    uint64_t v[5];
} s_fe_t;

typedef unsigned __int128 s_u128_t;

#define S_MASK51 ((UINT64_C(1) << 51) - 1)

static const s_fe_t s_d2 = {{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL,
                             0x6738cc7407977ULL, 0x2406d9dc56dffULL}};
static const s_fe_t s_d = {{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL,
                            0x739c663a03cbbULL, 0x52036cee2b6ffULL}};
static const s_fe_t s_sqrtm1 = {{0x61b274a0ea0b0ULL, 0x0d5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL,
                                 0x78595a6804c9eULL, 0x2b8324804fc1dULL}};

/* One carry pass: every limb below 2^51 but the first, which may exceed
 * it by a little (19 times the top carry). */
static void s_fe_carry(s_fe_t *h)
{
    uint64_t *v = h->v;
    v[1] += v[0] >> 51;
    v[0] &= S_MASK51;
    v[2] += v[1] >> 51;
    v[1] &= S_MASK51;
    v[3] += v[2] >> 51;
    v[2] &= S_MASK51;
    v[4] += v[3] >> 51;
    v[3] &= S_MASK51;
    v[0] += 19 * (v[4] >> 51);
    v[4] &= S_MASK51;
}

static void s_fe_add(s_fe_t *h, const s_fe_t *f, const s_fe_t *g)
{
    for (int i = 0; i < 5; i++)
        h->v[i] = f->v[i] + g->v[i];
    s_fe_carry(h);
}

/* f - g as f + 4p - g: every limb of 4p is above any limb of g. */
static void s_fe_sub(s_fe_t *h, const s_fe_t *f, const s_fe_t *g)
{
    h->v[0] = f->v[0] + UINT64_C(0x1FFFFFFFFFFFB4) - g->v[0];
    for (int i = 1; i < 5; i++)
        h->v[i] = f->v[i] + UINT64_C(0x1FFFFFFFFFFFFC) - g->v[i];
    s_fe_carry(h);
}

static void s_fe_neg(s_fe_t *h, const s_fe_t *f)
{
    static const s_fe_t zero = {{0, 0, 0, 0, 0}};
    s_fe_sub(h, &zero, f);
}

/* h = the five 128-bit column sums of a product, carried into 51-bit
 * limbs (the carry out of the top folded back times 19). */
static inline void s_fe_carry_wide(s_fe_t *h, s_u128_t r0, s_u128_t r1, s_u128_t r2, s_u128_t r3,
                                   s_u128_t r4)
{
    r1 += (uint64_t)(r0 >> 51);
    r2 += (uint64_t)(r1 >> 51);
    r3 += (uint64_t)(r2 >> 51);
    r4 += (uint64_t)(r3 >> 51);
    uint64_t h0 = ((uint64_t)r0 & S_MASK51) + 19 * (uint64_t)(r4 >> 51);
    h->v[1] = ((uint64_t)r1 & S_MASK51) + (h0 >> 51);
    h->v[0] = h0 & S_MASK51;
    h->v[2] = (uint64_t)r2 & S_MASK51;
    h->v[3] = (uint64_t)r3 & S_MASK51;
    h->v[4] = (uint64_t)r4 & S_MASK51;
}

/* h = f g: schoolbook, the limbs past 2^255 folded back times 19. */
static void s_fe_mul(s_fe_t *h, const s_fe_t *f, const s_fe_t *g)
{
    const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
    const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
    s_u128_t r0 = (s_u128_t)f0 * g0 + (s_u128_t)f1 * g4_19 + (s_u128_t)f2 * g3_19 +
                  (s_u128_t)f3 * g2_19 + (s_u128_t)f4 * g1_19;
    s_u128_t r1 = (s_u128_t)f0 * g1 + (s_u128_t)f1 * g0 + (s_u128_t)f2 * g4_19 +
                  (s_u128_t)f3 * g3_19 + (s_u128_t)f4 * g2_19;
    s_u128_t r2 = (s_u128_t)f0 * g2 + (s_u128_t)f1 * g1 + (s_u128_t)f2 * g0 +
                  (s_u128_t)f3 * g4_19 + (s_u128_t)f4 * g3_19;
    s_u128_t r3 = (s_u128_t)f0 * g3 + (s_u128_t)f1 * g2 + (s_u128_t)f2 * g1 +
                  (s_u128_t)f3 * g0 + (s_u128_t)f4 * g4_19;
    s_u128_t r4 = (s_u128_t)f0 * g4 + (s_u128_t)f1 * g3 + (s_u128_t)f2 * g2 +
                  (s_u128_t)f3 * g1 + (s_u128_t)f4 * g0;
    s_fe_carry_wide(h, r0, r1, r2, r3, r4);
}

/* h = f^2: the products of mul that are equal, counted once and doubled. */
static void s_fe_sq(s_fe_t *h, const s_fe_t *f)
{
    const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f3_19 = 19 * f3, f4_19 = 19 * f4;
    s_u128_t r0 = (s_u128_t)f0 * f0 + (s_u128_t)f1_2 * f4_19 + (s_u128_t)(2 * f2) * f3_19;
    s_u128_t r1 = (s_u128_t)f0_2 * f1 + (s_u128_t)(2 * f2) * f4_19 + (s_u128_t)f3 * f3_19;
    s_u128_t r2 = (s_u128_t)f0_2 * f2 + (s_u128_t)f1 * f1 + (s_u128_t)(2 * f3) * f4_19;
    s_u128_t r3 = (s_u128_t)f0_2 * f3 + (s_u128_t)f1_2 * f2 + (s_u128_t)f4 * f4_19;
    s_u128_t r4 = (s_u128_t)f0_2 * f4 + (s_u128_t)f1_2 * f3 + (s_u128_t)f2 * f2;
    s_fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static uint64_t s_load64(const uint8_t *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | s[i];
    return v;
}

/* The low 255 bits of s, little-endian (bit 255, x's sign, is dropped). */
static void s_fe_frombytes(s_fe_t *h, const uint8_t s[32])
{
    h->v[0] = s_load64(s) & S_MASK51;
    h->v[1] = (s_load64(s + 6) >> 3) & S_MASK51;
    h->v[2] = (s_load64(s + 12) >> 6) & S_MASK51;
    h->v[3] = (s_load64(s + 19) >> 1) & S_MASK51;
    h->v[4] = (s_load64(s + 24) >> 12) & S_MASK51;
}

/* The canonical encoding: the value reduced below p, little-endian. */
static void s_fe_tobytes(uint8_t s[32], const s_fe_t *f)
{
    s_fe_t t = *f;
    s_fe_carry(&t);
    s_fe_carry(&t);
    /* t < 2^255 now; q = 1 exactly when t >= p, i.e. t + 19 >= 2^255 */
    uint64_t q = (t.v[0] + 19) >> 51;
    for (int i = 1; i < 5; i++)
        q = (t.v[i] + q) >> 51;
    t.v[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        t.v[i + 1] += t.v[i] >> 51;
        t.v[i] &= S_MASK51;
    }
    t.v[4] &= S_MASK51; /* drops the 2^255 that q's 19 made */
    uint64_t w[4] = {t.v[0] | t.v[1] << 51, t.v[1] >> 13 | t.v[2] << 38,
                     t.v[2] >> 26 | t.v[3] << 25, t.v[3] >> 39 | t.v[4] << 12};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++)
            s[8 * i + b] = (uint8_t)(w[i] >> (8 * b));
}

static bool s_fe_is_zero(const s_fe_t *f)
{
    uint8_t s[32], any = 0;
    s_fe_tobytes(s, f);
    for (int i = 0; i < 32; i++)
        any |= s[i];
    return any == 0;
}

static bool s_fe_equal(const s_fe_t *f, const s_fe_t *g)
{
    s_fe_t difference;
    s_fe_sub(&difference, f, g);
    return s_fe_is_zero(&difference);
}

/* h = f^(2^n), n >= 1. */
static void s_fe_sq_times(s_fe_t *h, const s_fe_t *f, int n)
{
    s_fe_sq(h, f);
    for (int i = 1; i < n; i++)
        s_fe_sq(h, h);
}

/* z^((p - 5) / 8) = z^(2^252 - 3), by the usual chain of squarings. */
static void s_fe_pow22523(s_fe_t *out, const s_fe_t *z)
{
    s_fe_t t0, t1, t2;
    s_fe_sq(&t0, z);           /* 2 */
    s_fe_sq_times(&t1, &t0, 2); /* 8 */
    s_fe_mul(&t1, z, &t1);     /* 9 */
    s_fe_mul(&t0, &t0, &t1);   /* 11 */
    s_fe_sq(&t0, &t0);         /* 22 */
    s_fe_mul(&t0, &t1, &t0);   /* 31 = 2^5 - 1 */
    s_fe_sq_times(&t1, &t0, 5);
    s_fe_mul(&t0, &t1, &t0); /* 2^10 - 1 */
    s_fe_sq_times(&t1, &t0, 10);
    s_fe_mul(&t1, &t1, &t0); /* 2^20 - 1 */
    s_fe_sq_times(&t2, &t1, 20);
    s_fe_mul(&t1, &t2, &t1); /* 2^40 - 1 */
    s_fe_sq_times(&t1, &t1, 10);
    s_fe_mul(&t0, &t1, &t0); /* 2^50 - 1 */
    s_fe_sq_times(&t1, &t0, 50);
    s_fe_mul(&t1, &t1, &t0); /* 2^100 - 1 */
    s_fe_sq_times(&t2, &t1, 100);
    s_fe_mul(&t1, &t2, &t1); /* 2^200 - 1 */
    s_fe_sq_times(&t1, &t1, 50);
    s_fe_mul(&t0, &t1, &t0);      /* 2^250 - 1 */
    s_fe_sq_times(&t0, &t0, 2);   /* 2^252 - 4 */
    s_fe_mul(out, &t0, z);        /* 2^252 - 3 */
}

/* ------------------------------------------------------------------------
 * Points
 * ------------------------------------------------------------------------ */

typedef struct {
    s_fe_t x, y, z, t;
} s_point_t;

/* A point ready to be added: (Y + X, Y - X, 2 d T, Z). */
typedef struct {
    s_fe_t ypx, ymx, t2d, z;
} s_cached_t;

#define S_WINDOW 8 /* multiples 1..8 of a point: signed digits -8..8 */

static void s_point_identity(s_point_t *p)
{
    memset(p, 0, sizeof *p);
    p->y.v[0] = 1;
    p->z.v[0] = 1;
}

static void s_point_cache(s_cached_t *c, const s_point_t *p)
{
    s_fe_add(&c->ypx, &p->y, &p->x);
    s_fe_sub(&c->ymx, &p->y, &p->x);
    s_fe_mul(&c->t2d, &p->t, &s_d2);
    c->z = p->z;
}

/* r = p + q, or p - q when negate (add-2008-hwcd-3, a = -1). */
static void s_point_add(s_point_t *r, const s_point_t *p, const s_cached_t *q, bool negate)
{
    s_fe_t a, b, c, d, e, f, g, h;
    s_fe_sub(&a, &p->y, &p->x);
    s_fe_add(&b, &p->y, &p->x);
    s_fe_mul(&a, &a, negate ? &q->ypx : &q->ymx);
    s_fe_mul(&b, &b, negate ? &q->ymx : &q->ypx);
    s_fe_mul(&c, &p->t, &q->t2d);
    s_fe_mul(&d, &p->z, &q->z);
    s_fe_add(&d, &d, &d);
    s_fe_sub(&e, &b, &a);
    if (negate) {
        s_fe_add(&f, &d, &c);
        s_fe_sub(&g, &d, &c);
    } else {
        s_fe_sub(&f, &d, &c);
        s_fe_add(&g, &d, &c);
    }
    s_fe_add(&h, &b, &a);
    s_fe_mul(&r->x, &e, &f);
    s_fe_mul(&r->y, &g, &h);
    s_fe_mul(&r->t, &e, &h);
    s_fe_mul(&r->z, &f, &g);
}

/* r = 2 p (dbl-2008-hwcd, a = -1). */
static void s_point_double(s_point_t *r, const s_point_t *p)
{
    s_fe_t a, b, c, e, f, g, h;
    s_fe_sq(&a, &p->x);
    s_fe_sq(&b, &p->y);
    s_fe_sq(&c, &p->z);
    s_fe_add(&c, &c, &c);
    s_fe_add(&e, &p->x, &p->y);
    s_fe_sq(&e, &e);
    s_fe_sub(&e, &e, &a);
    s_fe_sub(&e, &e, &b); /* 2 x y */
    s_fe_sub(&g, &b, &a); /* y^2 + a x^2, a = -1 */
    s_fe_sub(&f, &g, &c);
    s_fe_add(&h, &a, &b);
    s_fe_neg(&h, &h); /* a x^2 - y^2 */
    s_fe_mul(&r->x, &e, &f);
    s_fe_mul(&r->y, &g, &h);
    s_fe_mul(&r->t, &e, &h);
    s_fe_mul(&r->z, &f, &g);
}

static bool s_point_is_identity(const s_point_t *p)
{
    return s_fe_is_zero(&p->x) && s_fe_equal(&p->y, &p->z);
}

/* [8] p: the torsion part gone. */
static void s_point_times8(s_point_t *r, const s_point_t *p)
{
    s_point_double(r, p);
    s_point_double(r, r);
    s_point_double(r, r);
}

/* Whether s (with its sign bit cleared) is below p = 2^255 - 19. */
static bool s_canonical(const uint8_t s[32])
{
    if ((s[31] & 0x7f) != 0x7f)
        return true;
    for (int i = 30; i >= 1; i--)
        if (s[i] != 0xff)
            return true;
    return s[0] < 0xed;
}

/*
 * Decodes a point (RFC 8032 5.1.3): y from the low 255 bits, x from
 *   x^2 = (y^2 - 1) / (d y^2 + 1), computed as u v^3 (u v^7)^((p-5)/8),
 * then made to match the sign bit.  false when y is not canonical, the
 * square root does not exist, or x = 0 comes with its sign bit set.
 */
static bool s_point_decode(s_point_t *p, const uint8_t s[32])
{
    if (!s_canonical(s))
        return false;
    static const s_fe_t one = {{1, 0, 0, 0, 0}};
    s_fe_t u, v, v3, x, check;
    s_fe_frombytes(&p->y, s);
    s_fe_sq(&u, &p->y);
    s_fe_mul(&v, &u, &s_d);
    s_fe_sub(&u, &u, &one); /* y^2 - 1 */
    s_fe_add(&v, &v, &one); /* d y^2 + 1 */
    s_fe_sq(&v3, &v);
    s_fe_mul(&v3, &v3, &v); /* v^3 */
    s_fe_sq(&x, &v3);
    s_fe_mul(&x, &x, &v);
    s_fe_mul(&x, &x, &u); /* u v^7 */
    s_fe_pow22523(&x, &x);
    s_fe_mul(&x, &x, &v3);
    s_fe_mul(&x, &x, &u);
    s_fe_sq(&check, &x);
    s_fe_mul(&check, &check, &v); /* v x^2: u, or -u when x needs sqrt(-1) */
    if (!s_fe_equal(&check, &u)) {
        s_fe_t minus_u;
        s_fe_neg(&minus_u, &u);
        if (!s_fe_equal(&check, &minus_u))
            return false;
        s_fe_mul(&x, &x, &s_sqrtm1);
    }
    uint8_t bytes[32];
    s_fe_tobytes(bytes, &x);
    int sign = s[31] >> 7;
    if ((bytes[0] & 1) != sign) {
        if (s_fe_is_zero(&x))
            return false;
        s_fe_neg(&x, &x);
    }
    p->x = x;
    p->z = one;
    s_fe_mul(&p->t, &p->x, &p->y);
    return true;
}

/* The point's cached multiples [1]p .. [count]p (count 1..8). */
static void s_point_table(s_cached_t table[S_WINDOW], const s_point_t *p, int count)
{
    s_point_t acc = *p;
    s_point_cache(&table[0], p);
    for (int k = 1; k < count; k++) {
        s_point_add(&acc, &acc, &table[0], false);
        s_point_cache(&table[k], &acc);
    }
}

/* ------------------------------------------------------------------------
 * Scalars: signed radix-16 digits, and the multi-scalar multiplication
 * ------------------------------------------------------------------------ */

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t s_order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                    0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    0,    0,    0,    0,    0,    0,    0,    0,
                                    0,    0,    0,    0,    0,    0,    0,    0x10};

#define S_DIGITS 64

/* Whether the little-endian s is below L. */
static bool s_scalar_below_order(const uint8_t s[32])
{
    for (int i = 31; i >= 0; i--)
        if (s[i] != s_order[i])
            return s[i] < s_order[i];
    return false;
}

/* a (below 2^255) as 64 digits e[i] in -8..8 with a = sum e[i] 16^i. */
static void s_recode(int8_t e[S_DIGITS], const uint8_t a[32])
{
    for (int i = 0; i < 32; i++) {
        e[2 * i] = (int8_t)(a[i] & 15);
        e[2 * i + 1] = (int8_t)(a[i] >> 4);
    }
    int carry = 0;
    for (int i = 0; i < S_DIGITS - 1; i++) {
        int digit = e[i] + carry;
        carry = (digit + 8) >> 4;
        e[i] = (int8_t)(digit - carry * 16);
    }
    e[S_DIGITS - 1] = (int8_t)(e[S_DIGITS - 1] + carry);
}

/* One term of a sum: a point's multiples and its scalar's digits. */
typedef struct {
    s_cached_t table[S_WINDOW];
    int8_t digits[S_DIGITS];
} s_term_t;

/* out = sum of [scalar] point over the terms (Straus: one chain of
 * doublings shared by all, each term's multiple added at its digit). */
static void s_multiply_sum(s_point_t *out, const s_term_t *terms, size_t count)
{
    int top = -1;
    for (size_t j = 0; j < count; j++)
        for (int i = S_DIGITS - 1; i > top; i--)
            if (terms[j].digits[i]) {
                top = i;
                break;
            }
    s_point_identity(out);
    for (int i = top; i >= 0; i--) {
        if (i != top)
            for (int k = 0; k < 4; k++)
                s_point_double(out, out);
        for (size_t j = 0; j < count; j++) {
            int digit = terms[j].digits[i];
            if (digit > 0)
                s_point_add(out, out, &terms[j].table[digit - 1], false);
            else if (digit < 0)
                s_point_add(out, out, &terms[j].table[-digit - 1], true);
        }
    }
}

/* ------------------------------------------------------------------------
 * The base point, and the batch
 * ------------------------------------------------------------------------ */

/* A comb of a point: rows[j][k] = [(k + 1) 256^j] P.  A scalar's radix-16
 * digit i is added from row i / 2: the odd ones first, then four
 * doublings (times 16), then the even ones - 64 additions and 4 doublings
 * for a whole scalar, where a window costs some 250 doublings. */
#define S_COMB_ROWS 32

typedef struct {
    s_cached_t rows[S_COMB_ROWS][S_WINDOW];
} s_comb_t;

static void s_comb_build(s_comb_t *comb, const s_point_t *p)
{
    s_point_t base = *p;
    for (int j = 0; j < S_COMB_ROWS; j++) {
        s_point_table(comb->rows[j], &base, S_WINDOW);
        for (int d = 0; d < 8; d++)
            s_point_double(&base, &base);
    }
}

/* acc += the digits of one parity (1: odd, 0: even) from the comb. */
static void s_comb_add(s_point_t *acc, const s_comb_t *comb, const int8_t digits[S_DIGITS],
                       int parity)
{
    for (int i = parity; i < S_DIGITS; i += 2) {
        int digit = digits[i];
        if (digit > 0)
            s_point_add(acc, acc, &comb->rows[i / 2][digit - 1], false);
        else if (digit < 0)
            s_point_add(acc, acc, &comb->rows[i / 2][-digit - 1], true);
    }
}

static s_cached_t s_base_table[S_WINDOW];
static s_comb_t s_base_comb;
static pthread_once_t s_base_once = PTHREAD_ONCE_INIT;

static void s_base_init(void)
{
    const s_point_t base = {
        .x = {{0x62d608f25d51aULL, 0x412a4b4f6592aULL, 0x75b7171a4b31dULL, 0x1ff60527118feULL,
               0x216936d3cd6e5ULL}},
        .y = {{0x6666666666658ULL, 0x4ccccccccccccULL, 0x1999999999999ULL, 0x3333333333333ULL,
               0x6666666666666ULL}},
        .z = {{1, 0, 0, 0, 0}},
        .t = {{0x68ab3a5b7dda3ULL, 0x00eea2a5eadbbULL, 0x2af8df483c27eULL, 0x332b375274732ULL,
               0x67875f0fd78b7ULL}},
    };
    s_point_table(s_base_table, &base, S_WINDOW);
    s_comb_build(&s_base_comb, &base);
}

/* A chunk's scalar work, modulo L. */
typedef struct {
    BN_CTX *bn;
    BIGNUM *order, *base, *value, *coefficient, *product;
    BIGNUM *keys[ED25519_BATCH_MAX]; /* each distinct key's sum of z_i h_i */
    EVP_MD_CTX *md;
    bool ok;
} s_scalars_t;

static bool s_scalars_open(s_scalars_t *k, size_t key_count)
{
    memset(k, 0, sizeof *k);
    k->bn = BN_CTX_new();
    k->md = EVP_MD_CTX_new();
    k->order = BN_lebin2bn(s_order, 32, NULL);
    k->base = BN_new();
    k->value = BN_new();
    k->coefficient = BN_new();
    k->product = BN_new();
    k->ok = k->bn && k->md && k->order && k->base && k->value && k->coefficient && k->product;
    for (size_t i = 0; i < key_count && k->ok; i++)
        k->ok = (k->keys[i] = BN_new()) != NULL;
    if (k->ok)
        BN_zero(k->base);
    for (size_t i = 0; i < key_count && k->ok; i++)
        BN_zero(k->keys[i]);
    return k->ok;
}

static void s_scalars_close(s_scalars_t *k)
{
    for (size_t i = 0; i < ED25519_BATCH_MAX; i++)
        BN_free(k->keys[i]);
    BN_free(k->order);
    BN_free(k->base);
    BN_free(k->value);
    BN_free(k->coefficient);
    BN_free(k->product);
    BN_CTX_free(k->bn);
    EVP_MD_CTX_free(k->md);
}

/* out = SHA-512 of the parts, concatenated. */
static bool s_sha512(s_scalars_t *k, uint8_t out[64], const void *const *parts,
                     const size_t *sizes, size_t count)
{
    bool ok = EVP_DigestInit_ex(k->md, EVP_sha512(), NULL) == 1;
    for (size_t i = 0; i < count && ok; i++)
        ok = EVP_DigestUpdate(k->md, parts[i], sizes[i]) == 1;
    return ok && EVP_DigestFinal_ex(k->md, out, NULL) == 1;
}

/* out = the little-endian value of bytes modulo L, in 32 bytes. */
static bool s_reduce(s_scalars_t *k, uint8_t out[32], const uint8_t *bytes, size_t size)
{
    return BN_lebin2bn(bytes, (int)size, k->value) && BN_nnmod(k->value, k->value, k->order, k->bn) &&
           BN_bn2lebinpad(k->value, out, 32) == 32;
}

/* sum += z * (the little-endian 32-byte scalar) modulo L. */
static bool s_accumulate(s_scalars_t *k, BIGNUM *sum, const uint8_t z[16], const uint8_t scalar[32])
{
    return BN_lebin2bn(z, 16, k->coefficient) && BN_lebin2bn(scalar, 32, k->value) &&
           BN_mod_mul(k->product, k->coefficient, k->value, k->order, k->bn) &&
           BN_mod_add(sum, sum, k->product, k->order, k->bn);
}

/* A term for p times the 32-byte scalar: only the multiples its digits use. */
static void s_term_set(s_term_t *term, const s_point_t *p, const uint8_t scalar[32])
{
    s_recode(term->digits, scalar);
    int largest = 0;
    for (int i = 0; i < S_DIGITS; i++) {
        int size = term->digits[i] < 0 ? -term->digits[i] : term->digits[i];
        largest = size > largest ? size : largest;
    }
    s_point_table(term->table, p, largest);
}

static void s_point_negate(s_point_t *p)
{
    s_fe_neg(&p->x, &p->x);
    s_fe_neg(&p->t, &p->t);
}

/* What a chunk knows of each of its signatures. */
typedef struct {
    s_point_t minus_r;
    uint8_t h[32]; /* SHA-512(R || A || M) mod L */
    uint8_t z[32]; /* the coefficient: 16 bytes, zero above */
    size_t key;    /* which of the chunk's distinct keys */
} s_item_t;

typedef struct {
    const uint8_t *bytes[ED25519_BATCH_MAX];
    s_point_t minus_a[ED25519_BATCH_MAX];
    size_t count;
} s_keys_t;

/* The item's key among those seen, decoded (and checked) when new. */
static bool s_key(s_keys_t *keys, const uint8_t *public_key, size_t *index_out)
{
    for (size_t i = 0; i < keys->count; i++)
        if (memcmp(keys->bytes[i], public_key, SIGN_PUBLIC_KEY_SIZE) == 0) {
            *index_out = i;
            return true;
        }
    s_point_t *a = &keys->minus_a[keys->count], small;
    if (!s_point_decode(a, public_key))
        return false;
    s_point_times8(&small, a);
    if (s_point_is_identity(&small))
        return false; /* a key of small order: anyone could sign for it */
    s_point_negate(a);
    keys->bytes[keys->count] = public_key;
    *index_out = keys->count++;
    return true;
}

/* Decodes every key, R and S of the chunk and computes each h.
 * SETTLE_ERR_SIGNATURE at the first that cannot be right. */
static int s_decode(const sign_item_t *items, size_t n, s_item_t *work, s_keys_t *keys,
                    s_scalars_t *k)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *signature = items[i].signature;
        if (!s_scalar_below_order(signature + 32) ||
            !s_key(keys, items[i].public_key, &work[i].key) ||
            !s_point_decode(&work[i].minus_r, signature))
            return SETTLE_ERR_SIGNATURE;
        s_point_negate(&work[i].minus_r);
        uint8_t digest[64];
        const void *parts[3] = {signature, items[i].public_key, items[i].message};
        const size_t sizes[3] = {32, SIGN_PUBLIC_KEY_SIZE, items[i].size};
        if (!s_sha512(k, digest, parts, sizes, 3) || !s_reduce(k, work[i].h, digest, 64))
            return SETTLE_ERR_NOMEM;
    }
    return SETTLE_OK;
}

/* Each z_i: 1 for a single signature; otherwise 128 bits of
 * SHA-512(SHA-512(domain, every R, A, S, h) || i), never zero. */
static bool s_coefficients(const sign_item_t *items, size_t n, s_item_t *work, s_scalars_t *k)
{
    static const char domain[] = "settle.ed25519.batch/1";
    for (size_t i = 0; i < n; i++)
        memset(work[i].z, 0, sizeof work[i].z);
    if (n == 1) {
        work[0].z[0] = 1;
        return true;
    }
    uint8_t transcript[64];
    bool ok = EVP_DigestInit_ex(k->md, EVP_sha512(), NULL) == 1 &&
              EVP_DigestUpdate(k->md, domain, sizeof domain) == 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = EVP_DigestUpdate(k->md, items[i].signature, 32) == 1 &&
             EVP_DigestUpdate(k->md, items[i].public_key, SIGN_PUBLIC_KEY_SIZE) == 1 &&
             EVP_DigestUpdate(k->md, items[i].signature + 32, 32) == 1 &&
             EVP_DigestUpdate(k->md, work[i].h, 32) == 1;
    ok = ok && EVP_DigestFinal_ex(k->md, transcript, NULL) == 1;
    for (size_t i = 0; i < n && ok; i++) {
        uint8_t index[8], digest[64], any = 0;
        for (int b = 0; b < 8; b++)
            index[b] = (uint8_t)((uint64_t)i >> (8 * b));
        const void *parts[2] = {transcript, index};
        const size_t sizes[2] = {sizeof transcript, sizeof index};
        ok = s_sha512(k, digest, parts, sizes, 2);
        memcpy(work[i].z, digest, 16);
        for (int b = 0; b < 16; b++)
            any |= work[i].z[b];
        if (!any)
            work[i].z[0] = 1;
    }
    return ok;
}

/* The sum [b]B + sum [a_k](-A_k) + sum [z_i](-R_i), times 8, is zero. */
static int s_check_sum(const sign_item_t *items, size_t n, s_item_t *work, s_keys_t *keys,
                       s_scalars_t *k, s_term_t *terms)
{
    for (size_t i = 0; i < n; i++)
        if (!s_accumulate(k, k->keys[work[i].key], work[i].z, work[i].h) ||
            !s_accumulate(k, k->base, work[i].z, items[i].signature + 32))
            return SETTLE_ERR_NOMEM;
    uint8_t scalar[32];
    if (BN_bn2lebinpad(k->base, scalar, 32) != 32)
        return SETTLE_ERR_NOMEM;
    pthread_once(&s_base_once, s_base_init);
    memcpy(terms[0].table, s_base_table, sizeof s_base_table);
    s_recode(terms[0].digits, scalar);
    size_t count = 1;
    for (size_t j = 0; j < keys->count; j++, count++) {
        if (BN_bn2lebinpad(k->keys[j], scalar, 32) != 32)
            return SETTLE_ERR_NOMEM;
        s_term_set(&terms[count], &keys->minus_a[j], scalar);
    }
    for (size_t i = 0; i < n; i++, count++)
        s_term_set(&terms[count], &work[i].minus_r, work[i].z);
    s_point_t sum, cleared;
    s_multiply_sum(&sum, terms, count);
    s_point_times8(&cleared, &sum);
    return s_point_is_identity(&cleared) ? SETTLE_OK : SETTLE_ERR_SIGNATURE;
}

static int s_chunk(const sign_item_t *items, size_t n)
{
    s_item_t *work = settle_malloc(n * sizeof *work);
    s_keys_t *keys = settle_malloc(sizeof *keys);
    s_term_t *terms = settle_malloc((1 + 2 * n) * sizeof *terms);
    s_scalars_t k;
    int rc = SETTLE_ERR_NOMEM;
    if (s_scalars_open(&k, n) && work && keys && terms) {
        keys->count = 0;
        rc = s_decode(items, n, work, keys, &k);
        if (rc == SETTLE_OK)
            rc = s_coefficients(items, n, work, &k) ? s_check_sum(items, n, work, keys, &k, terms)
                                                    : SETTLE_ERR_NOMEM;
    }
    s_scalars_close(&k);
    settle_free(terms);
    settle_free(keys);
    settle_free(work);
    return rc;
}

/* ------------------------------------------------------------------------
 * One signature: combs of B and of the signer's key
 * ------------------------------------------------------------------------ */

/* A thread's combs of -A for the keys it checks alone again and again (a
 * node checks one payer's commands over and over).  A comb costs some
 * fifteen checks to build, so a key gets one the second time it is seen:
 * keys seen once are only remembered, and a stream of ever new keys costs
 * what the batch path costs, never a comb each. */
#define S_COMBS_KEPT 8

typedef struct {
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    bool used;
    s_comb_t minus_a;
} s_kept_comb_t;

typedef struct {
    s_kept_comb_t combs[S_COMBS_KEPT];
    uint8_t seen[S_COMBS_KEPT][SIGN_PUBLIC_KEY_SIZE]; /* once, no comb yet */
    unsigned next, seen_count, next_seen;
} s_combs_t;

static pthread_key_t s_combs_key;
static pthread_once_t s_combs_once = PTHREAD_ONCE_INIT;

static void s_combs_init(void)
{
    if (pthread_key_create(&s_combs_key, settle_free) != 0)
        abort(); /* no thread-specific data at all: nothing here can work */
}

static s_combs_t *s_combs(void)
{
    pthread_once(&s_combs_once, s_combs_init);
    s_combs_t *combs = pthread_getspecific(s_combs_key);
    if (!combs) {
        combs = settle_calloc(1, sizeof *combs);
        if (combs && pthread_setspecific(s_combs_key, combs) != 0) {
            settle_free(combs);
            combs = NULL;
        }
    }
    return combs;
}

/* Whether the key was seen once already (and forgets it then); remembers
 * it otherwise. */
static bool s_seen_before(s_combs_t *combs, const uint8_t *public_key)
{
    for (unsigned i = 0; i < combs->seen_count; i++)
        if (memcmp(combs->seen[i], public_key, SIGN_PUBLIC_KEY_SIZE) == 0) {
            memcpy(combs->seen[i], combs->seen[--combs->seen_count], SIGN_PUBLIC_KEY_SIZE);
            return true;
        }
    unsigned slot = combs->seen_count < S_COMBS_KEPT ? combs->seen_count++
                                                     : combs->next_seen++ % S_COMBS_KEPT;
    memcpy(combs->seen[slot], public_key, SIGN_PUBLIC_KEY_SIZE);
    return false;
}

/* The comb of -A for the key (checked as s_key checks it), or
 * SETTLE_ERR_NOT_FOUND the first time a key is seen (check it the batch
 * way), SETTLE_ERR_SIGNATURE for a key that is no point or of small
 * order (it takes no slot), SETTLE_ERR_NOMEM. */
static int s_key_comb(const uint8_t *public_key, const s_comb_t **comb_out)
{
    s_combs_t *combs = s_combs();
    if (!combs)
        return SETTLE_ERR_NOMEM;
    for (unsigned i = 0; i < S_COMBS_KEPT; i++)
        if (combs->combs[i].used &&
            memcmp(combs->combs[i].public_key, public_key, SIGN_PUBLIC_KEY_SIZE) == 0) {
            *comb_out = &combs->combs[i].minus_a;
            return SETTLE_OK;
        }
    if (!s_seen_before(combs, public_key))
        return SETTLE_ERR_NOT_FOUND;
    s_keys_t *keys = settle_malloc(sizeof *keys);
    if (!keys)
        return SETTLE_ERR_NOMEM;
    keys->count = 0;
    size_t index;
    bool usable = s_key(keys, public_key, &index);
    if (usable) {
        s_kept_comb_t *kept = &combs->combs[combs->next++ % S_COMBS_KEPT];
        s_comb_build(&kept->minus_a, &keys->minus_a[index]);
        memcpy(kept->public_key, public_key, SIGN_PUBLIC_KEY_SIZE);
        kept->used = true;
        *comb_out = &kept->minus_a;
    }
    settle_free(keys);
    return usable ? SETTLE_OK : SETTLE_ERR_SIGNATURE;
}

/* [8]([S]B - [h]A - R) == 0 for one signature, with the combs. */
static int s_single(const sign_item_t *item)
{
    const uint8_t *signature = item->signature;
    const s_comb_t *minus_a = NULL;
    s_point_t minus_r;
    if (!s_scalar_below_order(signature + 32))
        return SETTLE_ERR_SIGNATURE;
    int rc = s_key_comb(item->public_key, &minus_a);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return s_chunk(item, 1); /* a key seen for the first time */
    if (rc != SETTLE_OK)
        return rc;
    if (!s_point_decode(&minus_r, signature))
        return SETTLE_ERR_SIGNATURE;
    s_point_negate(&minus_r);
    s_scalars_t k;
    uint8_t digest[64], h[32];
    const void *parts[3] = {signature, item->public_key, item->message};
    const size_t sizes[3] = {32, SIGN_PUBLIC_KEY_SIZE, item->size};
    bool ok = s_scalars_open(&k, 0) && s_sha512(&k, digest, parts, sizes, 3) &&
              s_reduce(&k, h, digest, 64);
    s_scalars_close(&k);
    if (!ok)
        return SETTLE_ERR_NOMEM;
    int8_t s_digits[S_DIGITS], h_digits[S_DIGITS];
    s_recode(s_digits, signature + 32);
    s_recode(h_digits, h);
    pthread_once(&s_base_once, s_base_init);
    s_point_t sum, cleared;
    s_point_identity(&sum);
    s_comb_add(&sum, &s_base_comb, s_digits, 1);
    s_comb_add(&sum, minus_a, h_digits, 1);
    for (int i = 0; i < 4; i++)
        s_point_double(&sum, &sum);
    s_comb_add(&sum, &s_base_comb, s_digits, 0);
    s_comb_add(&sum, minus_a, h_digits, 0);
    s_cached_t r;
    s_point_cache(&r, &minus_r);
    s_point_add(&sum, &sum, &r, false);
    s_point_times8(&cleared, &sum);
    return s_point_is_identity(&cleared) ? SETTLE_OK : SETTLE_ERR_SIGNATURE;
}

int ed25519_verify_batch(const sign_item_t *items, size_t count)
{
    if (count == 1)
        return s_single(items);
    for (size_t at = 0; at < count; at += ED25519_BATCH_MAX) {
        size_t n = count - at < ED25519_BATCH_MAX ? count - at : ED25519_BATCH_MAX;
        int rc = s_chunk(items + at, n);
        if (rc != SETTLE_OK)
            return rc;
    }
    return SETTLE_OK;
}

bool ed25519_torsion_free(const uint8_t encoding[32])
{
    s_point_t p, product;
    if (!s_point_decode(&p, encoding))
        return false;
    s_term_t *term = settle_malloc(sizeof *term);
    if (!term)
        return false;
    s_term_set(term, &p, s_order);
    s_multiply_sum(&product, term, 1);
    settle_free(term);
    return s_point_is_identity(&product);
}
