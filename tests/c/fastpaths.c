/* Records for the generated fast paths (koffi_typed/flatgen.py and the callers using it):
   one shape per way an eightbyte is built, each passed by value, returned, and seen by C
   member by member (every member is written as a double into out[], in order). */
#include <stdbool.h>
#include <stdint.h>

typedef struct U32D { uint32_t u; double d; } U32D;         /* plain int + double */
typedef struct I8D { int8_t c; double d; } I8D;             /* sign-extended small int */
typedef struct BoolD { bool b; double d; } BoolD;           /* bool as a plain int */
typedef struct I64U64 { int64_t a; uint64_t b; } I64U64;    /* 64-bit wrappers */
typedef struct FD { float f; double d; } FD;                /* lone float in SSE */
typedef struct IID { int a; int b; double c; } IID;         /* two ints: packed eightbyte */
typedef struct F2 { float a; float b; } F2;                 /* two floats: packed SSE */
typedef struct CF { char c; float f; } CF;                  /* int+float: INTEGER */
typedef struct Big { int64_t a; double b; int32_t c; float d; int16_t e; uint8_t f; } Big;

#define SHAPE(T, FIELDS)                                              \
    T Echo##T(T v) { return v; }                                      \
    void Fields##T(T v, double *out) { int i = 0; FIELDS }            \
    void Twice##T(T *p) { if (p) { T v = *p; FIELDS_TWICE_##T } }     \
    int IsNull##T(const T *p) { return p == 0; }

#define O(m) out[i++] = (double)v.m;
#define FIELDS_TWICE_U32D p->u = v.u * 2; p->d = v.d * 2;
#define FIELDS_TWICE_I8D p->c = (int8_t)(v.c * 2); p->d = v.d * 2;
#define FIELDS_TWICE_BoolD p->b = !v.b; p->d = v.d * 2;
#define FIELDS_TWICE_I64U64 p->a = v.a * 2; p->b = v.b * 2;
#define FIELDS_TWICE_FD p->f = v.f * 2; p->d = v.d * 2;
#define FIELDS_TWICE_IID p->a = v.a * 2; p->b = v.b * 2; p->c = v.c * 2;
#define FIELDS_TWICE_F2 p->a = v.a * 2; p->b = v.b * 2;
#define FIELDS_TWICE_CF p->c = (char)(v.c * 2); p->f = v.f * 2;
#define FIELDS_TWICE_Big p->a = v.a * 2; p->b = v.b * 2; p->c = v.c * 2; p->d = v.d * 2; \
    p->e = (int16_t)(v.e * 2); p->f = (uint8_t)(v.f * 2);

SHAPE(U32D, O(u) O(d))
SHAPE(I8D, O(c) O(d))
SHAPE(BoolD, O(b) O(d))
SHAPE(I64U64, O(a) O(b))
SHAPE(FD, O(f) O(d))
SHAPE(IID, O(a) O(b) O(c))
SHAPE(F2, O(a) O(b))
SHAPE(CF, O(c) O(f))
SHAPE(Big, O(a) O(b) O(c) O(d) O(e) O(f))

/* Registers used up by six ints and eight doubles: the record goes on the stack. */
double LateIID(int r1, int r2, int r3, int r4, int r5, int r6, double x1, double x2,
               double x3, double x4, double x5, double x6, double x7, double x8, IID v) {
    return r1 + r2 + r3 + r4 + r5 + r6 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8
        + v.a * 1000.0 + v.b * 100.0 + v.c;
}

int64_t WideI8(I8D v) { return (int64_t)v.c; }
