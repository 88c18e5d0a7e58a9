/* Records filled and checked by C, so koffi_typed's encode/decode is compared with what the
   compiler itself writes and reads. fill_* writes known values; check_* returns 1 when every
   member holds the values the Python tests put there. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <uchar.h>
#include <stdbool.h>

typedef struct Point { int32_t x; double y; } Point;

#pragma pack(push, 1)
typedef struct Header {
    uint8_t tag;
    uint32_t size;
    char name[16];
    uint32_t flags : 3;
    uint32_t level : 12;
    int32_t delta : 5;
} Header;
#pragma pack(pop)

typedef union Value { int64_t i; double d; uint8_t b[8]; } Value;

typedef struct Node { int32_t value; struct Node *next; } Node;

typedef struct Bits {
    unsigned a : 8, b : 8, c : 8, d : 8;
    double x;
    int s : 5;
    unsigned u : 27;
    long long w : 40;
    bool flag : 1;
} Bits;

typedef struct Texts { const char *s; const char16_t *s16; const char32_t *s32; } Texts;

typedef struct Arrays {
    int16_t v[5];
    char text[8];
    uint8_t raw[4];
    double m[2][3];
    char16_t wide[6];
} Arrays;

typedef struct Flex { int32_t count; int32_t items[8]; } Flex;

enum Color { RED = 1, GREEN = 2, BLUE = 40000 };
typedef struct Painted { enum Color color; int8_t alpha; } Painted;

typedef struct Wide { char c; long double x; __int128 big; unsigned __int128 ubig; } Wide;

typedef struct Endian { uint16_t be16; uint32_t be32; int64_t be64; } Endian;

typedef struct Outer { char tag; Point p; Value v[2]; Node n; } Outer;

size_t size_of(int which) {
    switch (which) {
        case 0: return sizeof(Point);
        case 1: return sizeof(Header);
        case 2: return sizeof(Value);
        case 3: return sizeof(Node);
        case 4: return sizeof(Bits);
        case 5: return sizeof(Texts);
        case 6: return sizeof(Arrays);
        case 7: return sizeof(Flex);
        case 8: return sizeof(Painted);
        case 9: return sizeof(Wide);
        case 10: return sizeof(Endian);
        case 11: return sizeof(Outer);
    }
    return 0;
}

void fill_point(Point *p) { p->x = -7; p->y = 2.5; }
int check_point(const Point *p) { return p->x == 123456 && p->y == -0.125; }

void fill_header(Header *h) {
    memset(h, 0, sizeof(*h));
    h->tag = 200; h->size = 0xDEADBEEF; strcpy(h->name, "koffi");
    h->flags = 5; h->level = 4095; h->delta = -16;
}
int check_header(const Header *h) {
    return h->tag == 1 && h->size == 70000 && strcmp(h->name, "typed") == 0
        && h->flags == 3 && h->level == 1000 && h->delta == 15;
}

void fill_value(Value *v) { v->d = 1.0; }
int check_value(const Value *v) { return v->i == 0x4000000000000000LL; }

static Node tail = { 99, NULL };
void fill_node(Node *n) { n->value = 1; n->next = &tail; }

void fill_bits(Bits *b) {
    memset(b, 0, sizeof(*b));
    b->a = 1; b->b = 2; b->c = 254; b->d = 255; b->x = 3.75;
    b->s = -13; b->u = 100000000; b->w = -549755813888LL; b->flag = true;
}
int check_bits(const Bits *b) {
    return b->a == 10 && b->b == 20 && b->c == 30 && b->d == 40 && b->x == -1.5
        && b->s == 15 && b->u == 134217727 && b->w == 549755813887LL && b->flag == false;
}

static const char16_t hello16[] = u"h\u00e9llo";
static const char32_t hello32[] = U"\U0001F600 ok";
void fill_texts(Texts *t) { t->s = "caf\xc3\xa9"; t->s16 = hello16; t->s32 = hello32; }
int check_texts(const Texts *t) {
    return t->s && strcmp(t->s, "na\xc3\xafve") == 0 && t->s16 == NULL
        && t->s32 && t->s32[0] == 0x1F40D && t->s32[1] == 0;
}

void fill_arrays(Arrays *a) {
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < 5; i++) a->v[i] = (int16_t)(i * 1000 - 2000);
    strcpy(a->text, "abc");
    a->raw[0] = 1; a->raw[1] = 2; a->raw[2] = 3; a->raw[3] = 255;
    for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) a->m[i][j] = i * 10 + j + 0.5;
    a->wide[0] = u'\u00e9'; a->wide[1] = u't'; a->wide[2] = u'\u00e9';
}
int check_arrays(const Arrays *a) {
    static const int16_t v[5] = { 5, -5, 32767, -32768, 0 };
    if (memcmp(a->v, v, sizeof(v)) != 0) return 0;
    if (memcmp(a->text, "0123456", 8) != 0) return 0; /* truncated, NUL-terminated */
    if (a->raw[0] != 9 || a->raw[1] != 8 || a->raw[2] != 0 || a->raw[3] != 0) return 0;
    if (a->m[1][2] != 7.0 || a->m[0][0] != 1.0) return 0;
    return a->wide[0] == u'o' && a->wide[1] == u'k' && a->wide[2] == 0;
}

void fill_flex(Flex *f) { memset(f, 0, sizeof(*f)); f->count = 3; f->items[0] = 10; f->items[1] = 20; f->items[2] = 30; }
int check_flex(const Flex *f) { return f->count == 2 && f->items[0] == -1 && f->items[1] == -2 && f->items[2] == 0; }

void fill_painted(Painted *p) { p->color = BLUE; p->alpha = -1; }
int check_painted(const Painted *p) { return p->color == GREEN && p->alpha == 5; }

void fill_wide(Wide *w) {
    memset(w, 0, sizeof(*w));
    w->c = 'x'; w->x = 1.0L / 3.0L; w->big = -((__int128)1 << 100); w->ubig = ~(unsigned __int128)0;
}
int check_wide(const Wide *w) {
    return w->c == 'y' && w->x == (long double)0.1 && w->big == ((__int128)1 << 90) + 5
        && w->ubig == ((unsigned __int128)1 << 127);
}

void fill_endian(Endian *e) {
    uint8_t *p = (uint8_t *)e;
    memset(e, 0, sizeof(*e));
    p[offsetof(Endian, be16)] = 0x12; p[offsetof(Endian, be16) + 1] = 0x34;
    p[offsetof(Endian, be32)] = 0xDE; p[offsetof(Endian, be32) + 3] = 0x01;
    p[offsetof(Endian, be64)] = 0xFF; p[offsetof(Endian, be64) + 7] = 0xFE;  /* -2 big-endian */
    for (int i = 1; i < 7; i++) p[offsetof(Endian, be64) + i] = 0xFF;
}

void fill_outer(Outer *o) {
    memset(o, 0, sizeof(*o));
    o->tag = 'T'; o->p.x = 3; o->p.y = 4.0; o->v[0].i = 77; o->v[1].d = -2.0;
    o->n.value = 5; o->n.next = &tail;
}
int check_outer(const Outer *o) {
    return o->tag == 'Q' && o->p.x == -3 && o->p.y == 0.5 && o->v[0].d == 8.0
        && o->v[1].i == -1 && o->n.value == 6 && o->n.next == NULL;
}
