/* C side of the benchmarks (built by bench/run.py with the system compiler). */
#include <stdint.h>
#include <string.h>

typedef struct S { int a; double b; } S;
typedef struct B48 { int64_t a, b, c; double d, e, f; } B48;
typedef union U { double d; int64_t i; } U;   /* [INTEGER]: ctypes uses XMM0 */
typedef struct Rec { int32_t id; float x; double y; } Rec;

int sum6(int a, int b, int c, int d, int e, int f) { return a + b + c + d + e + f; }
S add_s(S s) { S r = { s.a + 1, s.b * 2 }; return r; }
void fill48(B48 *out) { out->a = 1; out->b = 2; out->c = 3; out->d = 4.5; out->e = 5.5; out->f = 6.5; }
int64_t take_u(U u) { return u.i; }
void fill_recs(Rec *recs, int n) {
    for (int i = 0; i < n; i++) { recs[i].id = i; recs[i].x = i * 0.5f; recs[i].y = i * 0.25; }
}

/* Callbacks (bench/callbacks.py): C calls f n times and sums what it returned. */
typedef struct Vec2 { double x, y; } Vec2;
typedef struct Big3 { int64_t a, b, c; } Big3;
double call_scalar_n(double (*f)(double), int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += f(i);
    return s;
}
double call_vec2_n(Vec2 (*f)(Vec2, void *), int n) {
    double s = 0;
    for (int i = 0; i < n; i++) { Vec2 v = {i, -i}; Vec2 r = f(v, 0); s += r.x + r.y; }
    return s;
}
int64_t call_big3_n(Big3 (*f)(int), int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++) { Big3 r = f(i); s += r.a + r.b + r.c; }
    return s;
}
