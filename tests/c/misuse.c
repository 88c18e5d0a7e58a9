/* Functions for the record, array and memory misuse tests (tests/test_misuse.py): each reads
   or writes a whole pointee, so a buffer shorter than one would be overrun by C. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif

typedef struct MPoint { int32_t x; double y; } MPoint;
#pragma pack(push, 1)
typedef struct MPacked { uint8_t tag; uint32_t size; int16_t v[3]; } MPacked;
#pragma pack(pop)
typedef union MUnion { int64_t i; double d; } MUnion;
typedef struct MHolder { int32_t n; void *p; } MHolder;

/* The sum of the bytes of one pointee of `size` bytes at p (-1 for NULL). */
EXPORT long long SumBytes(const void *p, size_t size) {
    if (!p) return -1;
    long long s = 0;
    for (size_t i = 0; i < size; i++) s += ((const unsigned char *)p)[i];
    return s;
}

/* Every byte of one pointee set to 0x5A. */
EXPORT void FillBytes(void *p, size_t size) { if (p) memset(p, 0x5A, size); }

/* SumBytes of what the holder's pointer member points to. */
EXPORT long long HolderSum(const MHolder *h, size_t size) { return SumBytes(h->p, size); }
EXPORT void HolderFill(MHolder *h, size_t size) { FillBytes(h->p, size); }

EXPORT double PointSum(MPoint p) { return p.x + p.y; }
EXPORT double PointPtrSum(const MPoint *p) { return p->x + p->y; }
EXPORT void PointFill(MPoint *p) { p->x = 7; p->y = 8.5; }

/* A holder whose pointer member points to `count` MPoint or MUnion values: C adds 10 to
   each x (or i) and stores 0.5 in each y (or leaves the union's bytes otherwise). */
typedef struct MPoints { int32_t count; MPoint *items; } MPoints;
typedef struct MUnions { int32_t count; MUnion *items; } MUnions;
EXPORT void BumpPoints(MPoints *h) {
    for (int i = 0; i < h->count; i++) { h->items[i].x += 10; h->items[i].y = 0.5; }
}
EXPORT void BumpUnions(MUnions *h) { for (int i = 0; i < h->count; i++) h->items[i].i += 10; }
