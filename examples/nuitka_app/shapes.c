/* The C side of the Nuitka example app (built by .ci/nuitka and tests/test_examples.py). */
#include <stdint.h>

typedef struct Vec { int32_t x; double y; } Vec;
typedef struct Stats { int32_t count; double min, max, mean; } Stats;
typedef struct Segment { Vec a, b; } Segment;
typedef union Num { int64_t i; double d; } Num;

Vec vec_scale(Vec v, int32_t k) { Vec r = { v.x * k, v.y * k }; return r; }

double segment_dx(Segment s) { return (double)(s.b.x - s.a.x) + (s.b.y - s.a.y); }

int32_t stats(const double *values, int32_t n, Stats *out)
{
    if (n <= 0) return -1;
    out->count = n;
    out->min = out->max = values[0];
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        if (values[i] < out->min) out->min = values[i];
        if (values[i] > out->max) out->max = values[i];
        sum += values[i];
    }
    out->mean = sum / n;
    return 0;
}

int64_t num_bits(Num n) { return n.i; }

int32_t apply_twice(int32_t (*fn)(int32_t), int32_t x) { return fn(fn(x)); }
