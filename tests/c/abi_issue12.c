/* The examples of issue 12 ("ABI truth on every architecture"), as written there, for
   tests/abi_examples.py: built for the host and for every cross target. */
#include <stdint.h>
#include <string.h>

/* 1. All-float records with array members (CPython gh-110190). */
typedef struct { double a; double b[2]; } H3;
double h3_sum(H3 h) { return h.a + 10 * h.b[0] + 100 * h.b[1]; }
H3 h3_make(double a, double b0, double b1) { H3 h = {a, {b0, b1}}; return h; }

typedef struct { double m0; double m1[3]; } H4;
double h4_sum(H4 h) { return h.m0 + 10 * h.m1[0] + 100 * h.m1[1] + 1000 * h.m1[2]; }
H4 h4_make(double m0, double a, double b, double c) { H4 h = {m0, {a, b, c}}; return h; }

typedef struct { float v[3]; } F3;
double f3_late(double d0, double d1, double d2, double d3, double d4, double d5, double d6,
               double d7, F3 f, double after) {
    return d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + f.v[0] * 10 + f.v[1] * 100 +
           f.v[2] * 1000 + after * 10000;
}

/* 2. Packed and union all-float records on the stack. */
typedef struct __attribute__((packed)) { double m[2]; } PD2;
double pd2_late(double d0, double d1, double d2, double d3, double d4, double d5, double d6,
                PD2 p, double after) {
    return d0 + d1 + d2 + d3 + d4 + d5 + d6 + p.m[0] * 10 + p.m[1] * 100 + after * 1000;
}
PD2 pd2_make(double a, double b) { PD2 p; p.m[0] = a; p.m[1] = b; return p; }

typedef union { float f; float g[2]; } UF2;
double uf2_late(double d0, double d1, double d2, double d3, double d4, double d5, double d6,
                UF2 u, float after) {
    return d0 + d1 + d2 + d3 + d4 + d5 + d6 + u.g[0] * 10 + u.g[1] * 100 + after * 1000;
}

/* 3. A MEMORY-class record (System V x86-64) of at most 16 bytes, then stack arguments. */
struct __attribute__((packed)) P12 { float f; double d; };
double p12(struct P12 p, long a, long b, long c, long d, long e, long g, long h) {
    return p.f + p.d * 10 + a * 100 + b * 1000 + c * 10000 + d * 100000 + e * 1000000 +
           g * 10000000 + h * 100000000.0;
}
struct P12 p12_make(float f, double d) { struct P12 p = {f, d}; return p; }

#pragma pack(push, 1)
typedef struct { char c; int64_t v; short s; } PP11;
#pragma pack(pop)
int64_t pp11(PP11 p, int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f,
             int64_t g) {
    return p.c + p.v * 3 + p.s * 5 + a * 7 + b * 11 + c * 13 + d * 17 + e * 19 + f * 23 +
           g * 29;
}

/* ... and a 16-aligned one, whose stack slot leaves a gap after a smaller one. */
struct A16 { _Alignas(16) char c; double d __attribute__((packed)); };
struct __attribute__((packed)) P5 { char c; int i; };
double a16(struct P5 p, struct A16 a, long r) {
    return p.c * 7 + p.i * 11 + a.c * 10 + a.d * 100 + r * 13;
}
double a16_late(long x, struct A16 a, long y, long z, long w, long v, long u, long t, long s,
                struct P5 p, long r) {
    return x + a.c * 10 + a.d * 100 + y * 1000 + z + w + v + u + t * 2 + s * 3 + p.c * 7 +
           p.i * 11 + r * 13;
}

/* 4. Plain char follows the target. */
char char_echo(char c) { return c; }
int char_value(char c) { return c; }
char char_from(int v) { return (char)v; }

/* 5. Many large records by value. */
typedef struct { unsigned char b[32]; } big;
big big_make(int seed) {
    big s;
    for (int i = 0; i < 32; i++) s.b[i] = (unsigned char)(seed * 7 + i);
    return s;
}
static int big_sum(const big *s, int k) { return s->b[k % 32] + 3 * s->b[31 - k % 32]; }
int f9(big s0, big s1, big s2, big s3, big s4, big s5, big s6, big s7, big s8) {
    return big_sum(&s0, 0) + 2 * big_sum(&s1, 1) + 3 * big_sum(&s2, 2) + 4 * big_sum(&s3, 3) +
           5 * big_sum(&s4, 4) + 6 * big_sum(&s5, 5) + 7 * big_sum(&s6, 6) +
           8 * big_sum(&s7, 7) + 9 * big_sum(&s8, 8);
}
int f16(big s0, big s1, big s2, big s3, big s4, big s5, big s6, big s7, big s8, big s9,
        big s10, big s11, big s12, big s13, big s14, big s15) {
    return f9(s0, s1, s2, s3, s4, s5, s6, s7, s8) + 10 * big_sum(&s9, 9) +
           11 * big_sum(&s10, 10) + 12 * big_sum(&s11, 11) + 13 * big_sum(&s12, 12) +
           14 * big_sum(&s13, 13) + 15 * big_sum(&s14, 14) + 16 * big_sum(&s15, 15);
}

/* 6. __int128 (64-bit targets only). */
#ifdef __SIZEOF_INT128__
__int128 i128_mix(int a, __int128 v, long b) { return v * 3 + a - b; }
unsigned __int128 u128_echo(long a, unsigned __int128 v) { return v + (unsigned long)a; }
__int128 i128_late(long a0, long a1, long a2, long a3, long a4, long a5, long a6, __int128 v,
                   long after) {
    return v - (a0 + 2 * a1 + 3 * a2 + 4 * a3 + 5 * a4 + 6 * a5 + 7 * a6) + 1000 * after;
}
#endif
