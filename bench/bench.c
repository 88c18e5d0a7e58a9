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
