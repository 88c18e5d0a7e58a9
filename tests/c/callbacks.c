/* Test library for callbacks (tests/test_callbacks.py, tests/test_async.py), in the spirit of
   Koffi's callbacks.c: C calls Python back with every kind of value, re-entrantly, from an
   array or a struct of function pointers, after the call (SetIndirect/CallIndirect), and from
   a thread it creates. Every function computes something from what the callbacks returned,
   so the tests check values produced by C. Also: functions for asynchronous calls (a sleeper
   that measures how many calls run at once, errno per call).

   Type names start with Cb: record names are global per process in koffi_typed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CbUnary(int x);
typedef int CbBinOp(int a, int b);

/* ------------------------------------------------------------------ simple */

static int last_result = -12345;

/* Calls cb(x) and returns (and remembers) what it returned: shows what C received. */
int CallSimple(CbUnary *cb, int x) {
    last_result = cb(x);
    return last_result;
}

int GetLastResult(void) { return last_result; }
void SetLastResult(int value) { last_result = value; }

int ApplyBinary(CbBinOp *op, int a, int b) { return op(a, b); }

/* f(f(x)) + 1: the Python callback may call Triple() through koffi_typed. */
int ApplyTwice(CbUnary *f, int x) { return f(f(x)) + 1; }

int Triple(int x) { return 3 * x; }

/* Re-entrancy: the callback receives the depth, a name and a double, and may call
   CallRecursive(depth - 1, cb) again from Python. */
typedef int CbRecurseFn(int depth, const char *name, double d);

int CallRecursive(int depth, CbRecurseFn *cb) {
    char name[32];
    snprintf(name, sizeof(name), "level%d", depth);
    return cb(depth, name, depth * 1.5) * 10 + depth;
}

/* ------------------------------------------------------------------ records */

typedef struct CbBFG {
    int8_t a;
    int64_t b;
    int8_t c;
    const char *d;
    int16_t e;
    float f;
    double g;
} CbBFG;

static double bfg_checksum(const CbBFG *v) {
    return v->a + (double)v->b + v->c + (double)(v->d ? strlen(v->d) : 0) + v->e + v->f + v->g;
}

/* Koffi's ModifyBFG: builds a record, stores it in *p, gives it to the callback by value and
   returns what the callback returned (a record returned by a callback). */
CbBFG ModifyBFG(int x, double y, const char *str, CbBFG (*func)(CbBFG bfg), CbBFG *p) {
    CbBFG bfg;
    bfg.a = (int8_t)x;
    bfg.b = (int64_t)x * 2;
    bfg.c = (int8_t)(x - 27);
    bfg.d = str;
    bfg.e = (int16_t)(x * 27);
    bfg.f = (float)(y * x);
    bfg.g = y - x;
    *p = bfg;
    return func(bfg);
}

/* The callback fills a record through a pointer; C checksums it right away (string length
   included), then copies the numbers to *out with a string of its own. */
double FillBFG(void (*fill)(CbBFG *out, int x), int x, CbBFG *out) {
    CbBFG bfg;
    memset(&bfg, 0, sizeof(bfg));
    fill(&bfg, x);
    double sum = bfg_checksum(&bfg);
    *out = bfg;
    out->d = "filled";
    return sum;
}

/* The callback receives the record by value and returns a checksum of its own. */
double InspectBFG(double (*inspect)(CbBFG v), int8_t a, int64_t b, const char *d) {
    CbBFG bfg = {a, b, (int8_t)(a + 1), d, (int16_t)-300, 0.25f, -0.5};
    return inspect(bfg) * 2;
}

/* ------------------------------------------------------------------ many arguments */

typedef double CbRecurse8Fn(int i1, float f1, double d1, int i2, float f2, double d2, int i3,
                            float f3, double d3);

/* Nine mixed arguments (past the 6 integer registers of SysV only in number, and mixing
   the float and integer classes), and twice: the second call gets other values. */
double Recurse8(CbRecurse8Fn *cb, int i, float f, double d) {
    double first = cb(i, f, d, i + 1, f * 2, d * 3, i + 2, f * 4, d * 5);
    double second = cb(-i, -f, -d, 100, 0.5f, 0.25, -100, -0.5f, -0.25);
    return first * 1000 + second;
}

/* ------------------------------------------------------------------ arrays and structs */

/* Applies funcs[0], funcs[1]... in turn. */
int ApplyMany(CbUnary **funcs, int n, int x) {
    for (int i = 0; i < n; i++)
        x = funcs[i](x);
    return x;
}

typedef struct CbOps {
    CbBinOp *add;
    CbBinOp *mul;
} CbOps;

/* mul(add(a, b), b) */
int ApplyOps(const CbOps *ops, int a, int b) { return ops->mul(ops->add(a, b), b); }

/* Same, with the struct by value. */
int ApplyOpsValue(CbOps ops, int a, int b) { return ops.mul(ops.add(a, b), b); }

/* ------------------------------------------------------------------ stored callbacks */

static CbUnary *indirect_cb = NULL;

void SetIndirect(CbUnary *cb) { indirect_cb = cb; }
int CallIndirect(int x) { return indirect_cb ? indirect_cb(x) : -1; }
int HasIndirect(void) { return indirect_cb != NULL; }

/* ------------------------------------------------------------------ threads */

typedef struct CbThreadJob {
    CbUnary *cb;
    int n;
    long long sum;
} CbThreadJob;

static void *threaded_main(void *arg) {
    CbThreadJob *job = arg;
    for (int i = 0; i < job->n; i++)
        job->sum += job->cb(i);
    return NULL;
}

/* Starts a thread that calls cb(0) ... cb(n - 1), joins it and returns the sum of the results
   (-1 if the thread could not be created). */
int CallThreaded(CbUnary *cb, int n) {
    CbThreadJob job = {cb, n, 0};
    pthread_t thread;
    if (pthread_create(&thread, NULL, threaded_main, &job) != 0)
        return -1;
    pthread_join(thread, NULL);
    return (int)job.sum;
}

/* Two threads at once, each calling cb n times; returns the sum of both. */
int CallThreadedTwice(CbUnary *cb, int n) {
    CbThreadJob jobs[2] = {{cb, n, 0}, {cb, n, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&threads[i], NULL, threaded_main, &jobs[i]) != 0)
            return -1;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    return (int)(jobs[0].sum + jobs[1].sum);
}

/* ------------------------------------------------------------------ strings and pointers */

/* Returns cb(s, strlen(s)) * 2 (cb receives NULL and -1 for a NULL string). */
int CallWithString(int (*cb)(const char *s, int len), const char *s) {
    return cb(s, s ? (int)strlen(s) : -1) * 2;
}

/* The callback returns a string; C measures it during the call. */
int CallStrResult(const char *(*cb)(int x), int x) {
    const char *s = cb(x);
    return s ? (int)strlen(s) : -1;
}

static const int cb_values[5] = {3, 1, 4, 1, 5};

/* The callback receives a pointer to five ints and their count. */
int CallWithInts(int (*cb)(const int *values, int n)) { return cb(cb_values, 5) + 1; }

/* The callback receives NULL. */
int CallWithNull(int (*cb)(const int *values)) { return cb(NULL) + 7; }

/* The callback writes n ints through the pointer it receives; C sums them. */
int FillInts(void (*fill)(int *out, int n), int n) {
    int buf[16] = {0};
    if (n > 16) n = 16;
    fill(buf, n);
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += buf[i] * (i + 1);
    return sum;
}

/* ------------------------------------------------------------------ bool, int64, float */

int64_t CallInt64(int64_t (*cb)(int64_t v, bool flag), int64_t v, bool flag) {
    return cb(v, flag) - 1;
}

int CallBool(bool (*cb)(bool b, int x), bool b, int x) { return cb(b, x) ? 100 : 200; }

uint8_t CallUInt8(uint8_t (*cb)(uint8_t v), uint8_t v) { return cb(v); }

float CallFloat(float (*cb)(float a, double b), float a, double b) { return cb(a, b) * 2; }

void CallVoid(void (*cb)(int x), int x) { cb(x); cb(x + 1); }

/* ------------------------------------------------------------------ async helpers */

static atomic_int running = 0;
static atomic_int max_running = 0;

/* Sleeps ms milliseconds and returns value * 2, counting how many calls run at once. */
int SleepAndCount(int ms, int value) {
    int now = atomic_fetch_add(&running, 1) + 1;
    int seen = atomic_load(&max_running);
    while (now > seen && !atomic_compare_exchange_weak(&max_running, &seen, now)) {
    }
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    atomic_fetch_sub(&running, 1);
    return value * 2;
}

int GetMaxConcurrency(void) { return atomic_load(&max_running); }
int GetRunning(void) { return atomic_load(&running); }
void ResetConcurrency(void) { atomic_store(&max_running, 0); }

/* Sets errno and returns -1 (like a failing libc call), after an optional sleep. */
int SetErrnoAfter(int value, int ms) {
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    errno = value;
    return -1;
}

/* Koffi's async.js: twelve digits in twelve arguments. */
int64_t ConcatenateToInt(int8_t a, int8_t b, int8_t c, int8_t d, int8_t e, int8_t f, int8_t g,
                         int8_t h, int8_t i, int8_t j, int8_t k, int8_t l) {
    int8_t digits[12] = {a, b, c, d, e, f, g, h, i, j, k, l};
    int64_t value = 0;
    for (int n = 0; n < 12; n++)
        value = value * 10 + digits[n];
    return value;
}

typedef struct CbAsyncPair {
    int key;
    double value;
} CbAsyncPair;

/* Fills *out (an _Out_ record through an asynchronous call) and returns key + value. */
double MakeAsyncPair(int key, double value, CbAsyncPair *out) {
    out->key = key * 2;
    out->value = value / 2;
    return key + value;
}

/* ------------------------------------------------------------------ callback result lifetimes */

typedef const char *CbGetStr(int i);

/* Calls get(a) then get(b) and only then uses both strings: "<first>|<second>" in out. */
int JoinTwo(CbGetStr *get, int a, int b, char *out, int size) {
    const char *first = get(a);
    const char *second = get(b);
    return snprintf(out, (size_t)size, "%s|%s", first ? first : "(null)",
                    second ? second : "(null)");
}

typedef struct CbStrJob {
    CbGetStr *get;
    int id;
    int rounds;
    int wrong;
} CbStrJob;

static void *str_thread_main(void *arg) {
    CbStrJob *job = arg;
    const char **kept = malloc(sizeof(char *) * (size_t)job->rounds);
    if (!kept)
        return NULL;
    for (int r = 0; r < job->rounds; r++)
        kept[r] = job->get(job->id * 100000 + r);
    /* only now read every string C was given: each must still say what it said */
    for (int r = 0; r < job->rounds; r++) {
        char want[32];
        snprintf(want, sizeof want, "s%d", job->id * 100000 + r);
        if (!kept[r] || strcmp(kept[r], want) != 0)
            job->wrong++;
    }
    free(kept);
    return NULL;
}

/* `threads` C threads each call get() `rounds` times, keep every string and check them all
   after their last call; returns how many strings were wrong (-1: no thread). */
int CheckStringsThreaded(CbGetStr *get, int threads, int rounds) {
    CbStrJob jobs[16];
    pthread_t tids[16];
    if (threads > 16)
        threads = 16;
    for (int i = 0; i < threads; i++) {
        jobs[i] = (CbStrJob){get, i + 1, rounds, 0};
        if (pthread_create(&tids[i], NULL, str_thread_main, &jobs[i]) != 0)
            return -1;
    }
    int wrong = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        wrong += jobs[i].wrong;
    }
    return wrong;
}

/* Keeps the string get(i) returns, for ReadKeptString after the call. */
static const char *kept_string;
int KeepString(CbGetStr *get, int i) {
    kept_string = get(i);
    return kept_string != NULL;
}
int ReadKeptString(char *out, int size) {
    return snprintf(out, (size_t)size, "%s", kept_string ? kept_string : "(null)");
}

/* ------------------------------------------------------------------ records by value, inline types */

typedef struct CbVec2 { double x, y; } CbVec2;
typedef struct CbBig { int64_t a, b, c; } CbBig;

/* Applies f to (x, y) and to (-y, x); returns the sum of every coordinate it got back. */
double TransformTwice(CbVec2 (*f)(CbVec2 v, void *user), double x, double y, void *user) {
    CbVec2 a = {x, y}, b = {-y, x};
    CbVec2 ra = f(a, user), rb = f(b, user);
    return ra.x + ra.y + rb.x + rb.y;
}

/* The callback returns a 24-byte record (through the hidden result pointer on most ABIs). */
int64_t MakeBigs(CbBig (*make)(int i), int n) {
    int64_t sum = 0;
    for (int i = 0; i < n; i++) { CbBig r = make(i); sum += r.a * 100 + r.b * 10 + r.c; }
    return sum;
}

typedef struct CbVecJob { CbVec2 (*f)(CbVec2, void *); double sum; } CbVecJob;
static void *vec_thread_main(void *arg) {
    CbVecJob *job = arg;
    for (int i = 0; i < 10; i++) {
        CbVec2 v = {i, 2 * i};
        CbVec2 r = job->f(v, NULL);
        job->sum += r.x + r.y;
    }
    return NULL;
}

/* A thread C creates calls f ten times. */
double TransformInThread(CbVec2 (*f)(CbVec2 v, void *user)) {
    CbVecJob job = {f, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, vec_thread_main, &job) != 0)
        return -1;
    pthread_join(t, NULL);
    return job.sum;
}

/* A record with inline function-pointer members. */
typedef struct CbHolder {
    int (*apply)(int x);
    void (*release)(void *p);
    int x;
} CbHolder;
int UseHolder(const CbHolder *h) {
    int r = h->apply(h->x);
    if (h->release)
        h->release((void *)h);
    return r;
}

/* Hands out a pointer to a variadic function. */
typedef int CbFmt(char *buf, size_t size, const char *fmt, ...);
CbFmt *GetFormatter(void) { return snprintf; }

/* The callback SetIndirect stored, called n times, here or from a thread C creates. */
int CallIndirectTimes(int x, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += indirect_cb ? indirect_cb(x) : -1;
    return sum;
}
int CallIndirectThreaded(int n) { return indirect_cb ? CallThreaded(indirect_cb, n) : -1; }

/* ------------------------------------------------------------------ float results */

/* What C received from a float callback, through a ctypes thunk (scalars) and through a
   libffi closure (a record argument): tests/test_callback_hostile.py. */
static float last_float = -1.0f;

float CallFloatResult(float (*cb)(int x), int x) {
    last_float = cb(x);
    return last_float;
}

float CallFloatVec(float (*cb)(CbVec2 v), double x, double y) {
    CbVec2 v = {x, y};
    last_float = cb(v);
    return last_float;
}

float GetLastFloat(void) { return last_float; }

/* 128-bit integers through callbacks (64-bit targets only). */
#ifdef __SIZEOF_INT128__
typedef __int128 CbWide(__int128 v, int k);
int CallWide(CbWide *f, int k, long long *lo, long long *hi) {
    __int128 r = f(((__int128)k << 70) - 1, k);
    *lo = (long long)r;
    *hi = (long long)(r >> 64);
    return k;
}
#endif
