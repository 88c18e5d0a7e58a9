/* Functions for the memory-safety and value-fidelity tests (tests/test_safety.py). */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uchar.h>
#include <unistd.h>
#include <wchar.h>

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif

/* Pointers and the bytes behind them. */
EXPORT void *Identity(void *p) { return p; }
EXPORT void *Offset(void *p, size_t n) { return (char *)p + n; }
EXPORT uintptr_t AddressOf(const void *p) { return (uintptr_t)p; }
EXPORT int FirstByte(const void *p) { return p ? *(const unsigned char *)p : -1; }
EXPORT int WriteFirst(void *p, int v) { if (p) *(unsigned char *)p = (unsigned char)v; return v; }
EXPORT int WriteFirstChar(char *p, int v) { if (p) *p = (char)v; return v; }
EXPORT const char *Interior(const char *s, int i) { return s + i; }
EXPORT int *Second(int *values) { return values + 1; }
EXPORT size_t Length8(const char *s) { return strlen(s); }
EXPORT size_t Length16(const char16_t *s) { size_t n = 0; while (s[n]) n++; return n; }
EXPORT size_t Length32(const char32_t *s) { size_t n = 0; while (s[n]) n++; return n; }
EXPORT size_t LengthWide(const wchar_t *s) { return wcslen(s); }

/* Values as C sees them. */
EXPORT uint64_t BitsOfDouble(double v) { uint64_t b; memcpy(&b, &v, 8); return b; }
EXPORT uint32_t BitsOfFloat(float v) { uint32_t b; memcpy(&b, &v, 4); return b; }
EXPORT int SignedChar(signed char c) { return c; }
EXPORT uintptr_t PointerBits(void *p) { return (uintptr_t)p; }

/* Variadic values: each read back with the promoted type the caller declared. */
EXPORT long long VarInt(int kind, ...) {
    va_list ap;
    va_start(ap, kind);
    long long v = 0;
    switch (kind) {
    case 0: v = va_arg(ap, int); break;                       /* int and narrower */
    case 1: v = (long long)va_arg(ap, unsigned int); break;
    case 2: v = va_arg(ap, long long); break;
    case 3: v = (long long)va_arg(ap, unsigned long long); break;
    }
    va_end(ap);
    return v;
}

EXPORT double VarDouble(int unused, ...) {
    va_list ap;
    va_start(ap, unused);
    double v = va_arg(ap, double);
    va_end(ap);
    return v;
}

/* Slow calls, for unloading while a call is in flight. */
EXPORT int SleepThenAdd(int ms, int a, int b) { usleep((useconds_t)ms * 1000); return a + b; }

/* Records with members of any name, read by layout. */
typedef struct { int a; int b; int c; } Three;
EXPORT int SumThree(Three t) { return t.a * 100 + t.b * 10 + t.c; }
EXPORT int SumThreePtr(const Three *t) { return t->a * 100 + t->b * 10 + t->c; }
EXPORT void FillThree(Three *t) { t->a = 7; t->b = 8; t->c = 9; }
EXPORT int Sum3(int a, int b, int c) { return a * 100 + b * 10 + c; }

/* Unions by value, read back as C sees them. */
typedef union { int64_t i; double d; } U8;
typedef union { int64_t i[2]; double d[2]; } U16;
EXPORT int64_t UnionBits(U8 u) { return u.i; }
EXPORT int64_t UnionBits16(U16 u) { return u.i[0] ^ (u.i[1] * 3); }
EXPORT void FillUnion(U8 *out, int64_t v) { out->i = v; }

/* Copies n bytes over dst and terminates them with a character of `unit` zero bytes. */
EXPORT void WriteText(void *dst, const void *src, size_t n, size_t unit) {
    memcpy(dst, src, n);
    memset((char *)dst + n, 0, unit);
}
