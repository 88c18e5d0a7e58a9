/* Test library for the calling layer (tests/test_calls.py), in the spirit of Koffi's sync.c:
   every integer width, records in/out/by value, many-argument calls, strings of every width,
   out-parameters, handles, enums, bools, variadics, exported variables, errno, function
   pointers and buffers. Every function computes something, so the Python tests check
   results produced by C and not values they assigned themselves. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uchar.h>
#include <wchar.h>

/* ------------------------------------------------------------------ integers */

int8_t GetMinusOne1(void) { return -1; }
int16_t GetMinusOne2(void) { return -1; }
int32_t GetMinusOne4(void) { return -1; }
int64_t GetMinusOne8(void) { return -1; }

int8_t ThroughInt8(int8_t v) { return v; }
uint8_t ThroughUInt8(uint8_t v) { return v; }
int16_t ThroughInt16(int16_t v) { return v; }
uint16_t ThroughUInt16(uint16_t v) { return v; }
int32_t ThroughInt32(int32_t v) { return v; }
uint32_t ThroughUInt32(uint32_t v) { return v; }
int64_t ThroughInt64(int64_t v) { return v; }
uint64_t ThroughUInt64(uint64_t v) { return v; }
size_t ThroughSize(size_t v) { return v; }
long ThroughLong(long v) { return v; }
unsigned long ThroughULong(unsigned long v) { return v; }

/* Widen each argument to 64 bits: shows the callee saw the right value and sign. */
int64_t Int8ToInt64(int8_t v) { return v; }
uint64_t UInt8ToUInt64(uint8_t v) { return v; }
int64_t Int16ToInt64(int16_t v) { return v; }
uint64_t UInt16ToUInt64(uint16_t v) { return v; }
int64_t Int32ToInt64(int32_t v) { return v; }
uint64_t UInt32ToUInt64(uint32_t v) { return v; }

int64_t MinInt64(void) { return INT64_MIN; }
int64_t MaxInt64(void) { return INT64_MAX; }
uint64_t MaxUInt64(void) { return UINT64_MAX; }
uint64_t HighBit64(void) { return UINT64_C(1) << 63; }
uint64_t AddUInt64(uint64_t a, uint64_t b) { return a + b; }
int64_t NegateInt64(int64_t v) { return -v; }

/* Ten 64-bit arguments: six in registers, four on the stack (x86-64), each echoed whole
   into out so that stale upper bytes anywhere would show. */
void EchoInt64s(int64_t *out, int64_t a, uint64_t b, int64_t c, uint64_t d, int64_t e,
                uint64_t f, int64_t g, uint64_t h, int64_t i, uint64_t j) {
    out[0] = a; out[1] = (int64_t)b; out[2] = c; out[3] = (int64_t)d; out[4] = e;
    out[5] = (int64_t)f; out[6] = g; out[7] = (int64_t)h; out[8] = i; out[9] = (int64_t)j;
}

/* Print every width into out, so Python can compare with its own formatting. */
int FormatInts(char *out, size_t size, int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e,
               uint32_t f, int64_t g, uint64_t h) {
    return snprintf(out, size, "%d %u %d %u %d %u %lld %llu", a, b, c, d, e, f, (long long)g,
                    (unsigned long long)h);
}

/* Koffi's ConcatenateToInt1: twelve digits in twelve arguments. */
int64_t ConcatenateToInt1(int8_t a, int8_t b, int8_t c, int8_t d, int8_t e, int8_t f, int8_t g,
                          int8_t h, int8_t i, int8_t j, int8_t k, int8_t l) {
    int8_t digits[12] = {a, b, c, d, e, f, g, h, i, j, k, l};
    int64_t value = 0;
    for (int n = 0; n < 12; n++)
        value = value * 10 + digits[n];
    return value;
}

/* ------------------------------------------------------------------ records */

typedef struct Pack1 { int a; } Pack1;
typedef struct Pack2 { int a; int b; } Pack2;
typedef struct Pack3 { int a; int b; int c; } Pack3;

void FillPack1(int a, Pack1 *p) { p->a = a; }
Pack1 RetPack1(int a) { Pack1 p = {a}; return p; }
void AddPack1(int a, Pack1 *p) { p->a += a; }

void FillPack2(int a, int b, Pack2 *p) { p->a = a; p->b = b; }
Pack2 RetPack2(int a, int b) { Pack2 p = {a, b}; return p; }
void AddPack2(int a, int b, Pack2 *p) { p->a += a; p->b += b; }

void FillPack3(int a, int b, int c, Pack3 *p) { p->a = a; p->b = b; p->c = c; }
Pack3 RetPack3(int a, int b, int c) { Pack3 p = {a, b, c}; return p; }
void AddPack3(int a, int b, int c, Pack3 *p) { p->a += a; p->b += b; p->c += c; }
int SumPack3(Pack3 p) { return p.a + p.b + p.c; }
Pack3 ReversePack3(Pack3 p) { Pack3 r = {p.c, p.b, p.a}; return r; }

typedef struct Float2 { float a; float b; } Float2;
typedef struct Double3 { double a; double b; double c; } Double3;

Float2 PackFloat2(float a, float b, Float2 *out) {
    Float2 ret = {a, b};
    *out = ret;
    return ret;
}
Float2 ThroughFloat2(Float2 f) { return f; }
Float2 SwapFloat2(Float2 f) { Float2 r = {f.b, f.a}; return r; }
Double3 PackDouble3(double a, double b, double c, Double3 *out) {
    Double3 ret = {a, b, c};
    *out = ret;
    return ret;
}
double SumDouble3(Double3 d) { return d.a + d.b + d.c; }

typedef struct IntDouble { int i; double d; } IntDouble;
typedef struct DoubleInt { double d; int i; } DoubleInt;

DoubleInt ReverseIntDouble(IntDouble v) { DoubleInt r = {v.d * 2, v.i * 3}; return r; }

/* 48 bytes: returned through a hidden pointer, passed in memory. */
typedef struct BFG {
    int8_t a;
    int64_t b;
    int8_t c;
    const char *d;
    int16_t e;
    float f;
    double g;
} BFG;

static char bfg_text[64];

BFG MakeBFG(BFG *p, int x, double y, const char *str) {
    BFG bfg;
    snprintf(bfg_text, sizeof(bfg_text), "%s!", str);
    bfg.a = (int8_t)x;
    bfg.b = (int64_t)x * 2;
    bfg.c = (int8_t)(x - 27);
    bfg.d = bfg_text;
    bfg.e = (int16_t)(x * 27);
    bfg.f = (float)(y * x);
    bfg.g = y - x;
    *p = bfg;
    return bfg;
}

double BFGChecksum(BFG v) {
    return v.a + (double)v.b + v.c + (double)strlen(v.d ? v.d : "") + v.e + v.f + v.g;
}

/* Arrays inside a record. */
typedef struct Polygon {
    int count;
    float xs[4];
    char name[12];
} Polygon;

void MakePolygon(int count, float start, const char *name, Polygon *out) {
    memset(out, 0, sizeof(*out));
    out->count = count;
    for (int i = 0; i < count && i < 4; i++)
        out->xs[i] = start + (float)i;
    snprintf(out->name, sizeof(out->name), "%s", name);
}

float PolygonSum(Polygon p) {
    float sum = 0;
    for (int i = 0; i < p.count && i < 4; i++)
        sum += p.xs[i];
    return sum + (float)strlen(p.name);
}

/* A plain point, used through pointers (in, out, in/out) and by value. */
typedef struct IntPoint { int x; int y; } IntPoint;

void GetPoint(IntPoint *out) { out->x = 12; out->y = -34; }
int PointSum(const IntPoint *p) { return p ? p->x + p->y : -1; }
int PointSumVoid(const void *p) { const IntPoint *pt = p; return pt->x * 10 + pt->y; }
IntPoint MovePoint(IntPoint p, int dx, int dy) { p.x += dx; p.y += dy; return p; }
void ScalePoint(IntPoint *p, int k) { p->x *= k; p->y *= k; }

/* Nineteen arguments: ints, floats, doubles and a record, past the registers of every
   class (6 GPRs, 8 XMM on x86-64). */
int FormatMixed(char *out, size_t size, int8_t a, double b, int16_t c, float d, int32_t e,
                Pack3 s, int64_t f, float g, uint8_t h, double i, uint16_t j, float k,
                uint32_t l, double m, float n, double o, float p) {
    return snprintf(out, size, "%d %g %d %g %d {%d %d %d} %lld %g %u %g %u %g %u %g %g %g %g",
                    a, b, c, (double)d, e, s.a, s.b, s.c, (long long)f, (double)g, h, i, j,
                    (double)k, l, m, (double)n, o, (double)p);
}

/* ------------------------------------------------------------------ strings */

size_t Utf8Length(const char *s) { return s ? strlen(s) : (size_t)-1; }

size_t Utf16Length(const char16_t *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

size_t Utf32Length(const char32_t *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

size_t WideLength(const wchar_t *s) { return wcslen(s); }

void Concat8(const char *a, const char *b, char *out) {
    strcpy(out, a);
    strcat(out, b);
}

void Concat16(const char16_t *a, const char16_t *b, char16_t *out) {
    size_t n = 0;
    for (size_t i = 0; a[i]; i++) out[n++] = a[i];
    for (size_t i = 0; b[i]; i++) out[n++] = b[i];
    out[n] = 0;
}

void Concat32(const char32_t *a, const char32_t *b, char32_t *out) {
    size_t n = 0;
    for (size_t i = 0; a[i]; i++) out[n++] = a[i];
    for (size_t i = 0; b[i]; i++) out[n++] = b[i];
    out[n] = 0;
}

void ConcatWide(const wchar_t *a, const wchar_t *b, wchar_t *out) {
    wcscpy(out, a);
    wcscat(out, b);
}

const char *GetStaticString(void) { return "Hello from C"; }
const char16_t *GetStaticString16(void) { return u"h\u00e9llo \u2603"; }
const char32_t *GetStaticString32(void) { return U"\U0001F600 ok"; }
const wchar_t *GetStaticWide(void) { return L"wide \u00e9t\u00e9"; }
const char *MaybeString(int which) { return which ? "yes" : NULL; }

/* Heap strings, to be released by a disposable type. */
char *DuplicateUpper(const char *s) {
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    for (size_t i = 0; i <= len; i++)
        copy[i] = (char)toupper((unsigned char)s[i]);
    return copy;
}

char16_t *Duplicate16Reversed(const char16_t *s) {
    size_t len = Utf16Length(s);
    char16_t *copy = malloc((len + 1) * sizeof(char16_t));
    for (size_t i = 0; i < len; i++)
        copy[i] = s[len - 1 - i];
    copy[len] = 0;
    return copy;
}

/* ------------------------------------------------------------------ out-parameters */

void FillRange(int *out, int n) {
    for (int i = 0; i < n; i++)
        out[i] = i * 3 + 1;
}

void MultiplyIntegers(int *values, int n, int k) {
    for (int i = 0; i < n; i++)
        values[i] *= k;
}

int SumInts(const int *values, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += values[i];
    return sum;
}

void Divide(int a, int b, int *quotient, int *remainder) {
    *quotient = a / b;
    *remainder = a % b;
}

void IncrementInt64(int64_t *value) { *value += 1; }

static char upper_buffer[256];

void UpperToInternalBuffer(const char *s, char **out) {
    size_t i = 0;
    for (; s[i] && i < sizeof(upper_buffer) - 1; i++)
        upper_buffer[i] = (char)toupper((unsigned char)s[i]);
    upper_buffer[i] = 0;
    *out = upper_buffer;
}

/* Opaque handle API. */
typedef struct Handle { int value; } Handle;

static int live_handles = 0;

int OpenHandle(int value, Handle **out) {
    if (value < 0) {
        *out = NULL;
        return -1;
    }
    Handle *h = malloc(sizeof(*h));
    h->value = value;
    live_handles++;
    *out = h;
    return 0;
}

int HandleValue(Handle *h) { return h ? h->value : -1; }
void CloseHandle(Handle *h) { if (h) { free(h); live_handles--; } }
int CountHandles(void) { return live_handles; }

/* ------------------------------------------------------------------ enums and bools */

typedef enum Color { RED = 1, GREEN = 2, BLUE = 40000 } Color;

Color NextColor(Color c) {
    switch (c) {
        case RED: return GREEN;
        case GREEN: return BLUE;
        default: return RED;
    }
}

const char *ColorName(Color c) {
    switch (c) {
        case RED: return "red";
        case GREEN: return "green";
        case BLUE: return "blue";
    }
    return "?";
}

int BoolToInt(bool b) { return b ? 42 : 7; }
bool IsPositive(int v) { return v > 0; }
bool NegateBool(bool b) { return !b; }

int BoolToMask12(bool a, bool b, bool c, bool d, bool e, bool f, bool g, bool h, bool i,
                 bool j, bool k, bool l) {
    bool bits[12] = {a, b, c, d, e, f, g, h, i, j, k, l};
    int mask = 0;
    for (int n = 0; n < 12; n++)
        mask |= bits[n] << (11 - n);
    return mask;
}

void GetParity(int v, bool *even) { *even = (v % 2) == 0; }

/* ------------------------------------------------------------------ variadic */

int PrintFmt(char *out, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int ret = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return ret;
}

int SumVariadic(int count, ...) {
    va_list ap;
    va_start(ap, count);
    int sum = 0;
    for (int i = 0; i < count; i++)
        sum += va_arg(ap, int);
    va_end(ap);
    return sum;
}

double SumVariadicDoubles(int count, ...) {
    va_list ap;
    va_start(ap, count);
    double sum = 0;
    for (int i = 0; i < count; i++)
        sum += va_arg(ap, double);
    va_end(ap);
    return sum;
}

/* ------------------------------------------------------------------ exported variables */

int sym_int = 42;
const char *sym_str = "foo";
int sym_int3[3] = {7, -8, 9};

int GetSymInt(void) { return sym_int; }
int GetSymInt3(int i) { return sym_int3[i]; }

/* ------------------------------------------------------------------ errno */

int SetErrno(int value) {
    errno = value;
    return -1;
}

int GetErrno(void) { return errno; }

/* ------------------------------------------------------------------ function pointers */

static int AddInts(int a, int b) { return a + b; }
static int SubInts(int a, int b) { return a - b; }
static int MulInts(int a, int b) { return a * b; }

int (*GetBinaryIntFunction(const char *name))(int, int) {
    if (!strcmp(name, "add")) return AddInts;
    if (!strcmp(name, "sub")) return SubInts;
    if (!strcmp(name, "mul")) return MulInts;
    return NULL;
}

int ApplyBinary(int (*fn)(int, int), int a, int b) { return fn(a, b); }

/* ------------------------------------------------------------------ buffers and math */

void ReverseBytes(void *buf, size_t len) {
    uint8_t *bytes = buf;
    for (size_t i = 0; i < len / 2; i++) {
        uint8_t tmp = bytes[i];
        bytes[i] = bytes[len - 1 - i];
        bytes[len - 1 - i] = tmp;
    }
}

size_t CountZeros(const uint8_t *buf, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == 0;
    return n;
}

uintptr_t AddressOf(const void *p) { return (uintptr_t)p; }
int IsNull(const void *p) { return p == NULL; }

double Average(const double *values, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += values[i];
    return n ? sum / n : 0.0;
}

float AverageFloat(const float *values, int n) {
    float sum = 0;
    for (int i = 0; i < n; i++)
        sum += values[i];
    return n ? sum / (float)n : 0.0f;
}

float MulFloat(float a, float b) { return a * b; }
double MulDouble(double a, double b) { return a * b; }
double IntsToDouble(int a, double b, int c, float d) { return a * 1000.0 + b * 100.0 + c * 10.0 + d; }
