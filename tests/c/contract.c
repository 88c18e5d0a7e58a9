/* Test library for tests/test_koffi_contract.py: the semantics that Koffi's own test suite
   relies on, written anew for koffi_typed. Values behind pointer members (records, lists of
   them, buffers, counted arrays), polymorphic string arguments (a str for void *, int8_t *,
   int16_t *, int32_t *, and ['text'] rewritten in place), strings in fixed integer arrays,
   heap strings handed back through out-parameters, and bare addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uchar.h>

/* ------------------------------------------------------------ pointer members */

typedef struct Node {
    int32_t value;
    struct Node *next;
} Node;

int32_t SumChain(const Node *node)
{
    int32_t total = 0;
    for (; node; node = node->next)
        total += node->value;
    return total;
}

int32_t ChainLength(const Node *node)
{
    int32_t n = 0;
    for (; node; node = node->next)
        n++;
    return n;
}

/* Multiplies every value of the chain in place. */
void ScaleChain(Node *node, int32_t factor)
{
    for (; node; node = node->next)
        node->value *= factor;
}

/* Cuts the chain after its first node; returns the value the cut part started with. */
int32_t CutAfterFirst(Node *node)
{
    int32_t first = node->next ? node->next->value : -1;
    node->next = NULL;
    return first;
}

typedef struct Item {
    int16_t id;
    double weight;
} Item;

typedef struct Bag {
    int32_t count;
    Item *items;
    const char *label;
} Bag;

double BagWeight(const Bag *bag)
{
    double total = 0;
    for (int32_t i = 0; i < bag->count; i++)
        total += bag->items[i].weight * bag->items[i].id;
    return total;
}

/* Renumbers the items 100, 101, ... and halves their weights. */
void RenumberBag(Bag *bag)
{
    for (int32_t i = 0; i < bag->count; i++) {
        bag->items[i].id = (int16_t)(100 + i);
        bag->items[i].weight /= 2;
    }
}

typedef struct ByteSpan {
    int32_t len;
    int32_t _pad;
    uint8_t *ptr;
} ByteSpan;

/* Writes len bytes: fill, fill + 1, ... */
void FillSpanDirect(ByteSpan span, int32_t fill)
{
    for (int32_t i = 0; i < span.len; i++)
        span.ptr[i] = (uint8_t)(fill + i);
}

void FillSpanIndirect(const ByteSpan *span, int32_t fill)
{
    FillSpanDirect(*span, fill);
}

uint32_t SumSpan(ByteSpan span)
{
    uint32_t total = 0;
    for (int32_t i = 0; i < span.len; i++)
        total += span.ptr[i];
    return total;
}

/* A pointer member whose element count is another member (koffi counted_by). */
typedef struct Samples {
    int32_t n;
    int32_t *values;
} Samples;

int64_t SumSamples(Samples s)
{
    int64_t total = 0;
    for (int32_t i = 0; i < s.n; i++)
        total += s.values[i] * (i + 1);
    return total;
}

void SquareSamples(Samples *s)
{
    for (int32_t i = 0; i < s->n; i++)
        s->values[i] *= s->values[i];
}

/* ------------------------------------------------------------ polymorphic strings */

int32_t CountUntilNul8(const void *ptr)
{
    const int8_t *p = ptr;
    int32_t n = 0;
    while (p[n])
        n++;
    return n;
}

int32_t CountUntilNul16(const int16_t *p)
{
    int32_t n = 0;
    while (p[n])
        n++;
    return n;
}

int32_t CountUntilNul32(const int32_t *p)
{
    int32_t n = 0;
    while (p[n])
        n++;
    return n;
}

/* The sum of the code units up to the terminator, to check the encoding itself. */
int64_t SumUnits16(const int16_t *p)
{
    int64_t total = 0;
    for (; *p; p++)
        total += (uint16_t)*p;
    return total;
}

void ReverseText8(void *ptr)
{
    char *s = ptr;
    size_t len = strlen(s);
    for (size_t i = 0; i < len / 2; i++) {
        char c = s[i];
        s[i] = s[len - 1 - i];
        s[len - 1 - i] = c;
    }
}

void ReverseText16(void *ptr)
{
    char16_t *s = ptr;
    size_t len = 0;
    while (s[len])
        len++;
    for (size_t i = 0; i < len / 2; i++) {
        char16_t c = s[i];
        s[i] = s[len - 1 - i];
        s[len - 1 - i] = c;
    }
}

/* ------------------------------------------------------------ text in integer arrays */

typedef struct Tag8 {
    int8_t text[12];
} Tag8;

typedef struct Tag16 {
    char16_t text[12];
} Tag16;

/* Upper-cases ASCII letters of the text. */
Tag8 ShoutTag8(Tag8 tag)
{
    for (int i = 0; i < 12 && tag.text[i]; i++)
        if (tag.text[i] >= 'a' && tag.text[i] <= 'z')
            tag.text[i] = (int8_t)(tag.text[i] - 32);
    return tag;
}

Tag16 ShoutTag16(Tag16 tag)
{
    for (int i = 0; i < 12 && tag.text[i]; i++)
        if (tag.text[i] >= u'a' && tag.text[i] <= u'z')
            tag.text[i] = (char16_t)(tag.text[i] - 32);
    return tag;
}

/* ------------------------------------------------------------ heap strings out */

static int64_t frees;

void CountedFree(void *ptr)
{
    if (ptr)
        frees++;
    free(ptr);
}

int64_t GetFrees(void) { return frees; }

/* Like asprintf("%s=%d"): a malloc'ed string through an out-parameter. */
int32_t FormatPair(char **out, const char *key, int32_t value)
{
    size_t len = strlen(key) + 16;
    char *s = malloc(len);
    int32_t written = 0;
    for (const char *k = key; *k; k++)
        s[written++] = *k;
    s[written++] = '=';
    char digits[12];
    int nd = 0;
    uint32_t v = value < 0 ? (uint32_t)-value : (uint32_t)value;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (value < 0)
        s[written++] = '-';
    while (nd)
        s[written++] = digits[--nd];
    s[written] = 0;
    *out = s;
    return written;
}

void JoinWide(const char16_t *a, const char16_t *b, char16_t **out)
{
    size_t la = 0, lb = 0;
    while (a[la])
        la++;
    while (b[lb])
        lb++;
    char16_t *s = malloc((la + lb + 1) * sizeof(char16_t));
    memcpy(s, a, la * sizeof(char16_t));
    memcpy(s + la, b, lb * sizeof(char16_t));
    s[la + lb] = 0;
    *out = s;
}

/* ------------------------------------------------------------ bare addresses */

static int32_t cells[4] = {7, 11, 13, 17};

int32_t *GetCells(void) { return cells; }

int32_t ReadCell(const int32_t *p, int32_t index) { return p[index]; }

intptr_t AddressOfCells(void) { return (intptr_t)cells; }
