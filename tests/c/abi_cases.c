/* The by-value cases where plain ctypes is wrong on System V x86-64 (reference/abi.md §0,
   §2.3). Each take_* reports what the callee received; each give_* returns a known value. */
#include <stdint.h>
#include <string.h>

typedef union UFD { float f; double d; } UFD;          /* [SSE]: ctypes loses 4 bytes   */
typedef union UDL { double d; long l; } UDL;           /* [INTEGER]: ctypes uses XMM0   */
typedef struct BF4 { unsigned a : 8, b : 8, c : 8, d : 8; double x; } BF4;  /* [INT, SSE] */
typedef struct __attribute__((packed)) P5 { char c; int i; } P5;           /* MEMORY      */
typedef union ULD2 { long l; double d[2]; } ULD2;     /* [INTEGER, SSE]                 */
typedef struct S574 { char c; double d; } S574;      /* libffi < 3.4.8 bug #574        */

double take_ufd(UFD u) { return u.d; }
UFD give_ufd(double d) { UFD u; u.d = d; return u; }
long take_udl(UDL u) { return u.l; }
UDL give_udl(long l) { UDL u; u.l = l; return u; }
double take_bf4(BF4 s) { return s.a + s.b * 10 + s.c * 100 + s.d * 1000 + s.x; }
BF4 give_bf4(double x) { BF4 s; memset(&s, 0, sizeof s); s.a = 1; s.b = 2; s.c = 3; s.d = 4; s.x = x; return s; }
int take_p5(P5 p, int x) { return p.c * 1000 + p.i * 10 + x; }
P5 give_p5(char c, int i) { P5 p; p.c = c; p.i = i; return p; }
double take_uld2(ULD2 u, double extra) { return (double)u.l + u.d[1] * 100 + extra; }
double t574(char a, char b, char c, char d, char e, float f, S574 s) {
    return a + b + c + d + e + f + s.c + s.d;
}
/* after register exhaustion: 6 integer + 8 SSE registers used, then the records */
double late_ufd(long a, long b, long c, long d, long e, long f, double g0, double g1,
                double g2, double g3, double g4, double g5, double g6, double g7, UFD u,
                long tail) {
    return a + b + c + d + e + f + g0 + g1 + g2 + g3 + g4 + g5 + g6 + g7 + u.d + tail;
}
