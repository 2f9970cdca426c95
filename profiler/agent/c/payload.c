/*
 * payload.c: building the payloads of extended records.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

/* ---- payload building ---------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buffer;

static void buf_bytes(buffer *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = PyMem_Realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_u32(buffer *b, uint32_t v) { buf_bytes(b, &v, 4); }
static void buf_u64(buffer *b, uint64_t v) { buf_bytes(b, &v, 8); }

static void buf_str(buffer *b, PyObject *s)
{
    Py_ssize_t n = 0;
    const char *utf8 = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (!utf8) {
        PyErr_Clear();
        utf8 = "?";
        n = 1;
    }
    if (n > PYPROF_MAX_STRING)
        n = PYPROF_MAX_STRING; /* names longer than this are not worth a ring's room */
    buf_u32(b, (uint32_t)n);
    buf_bytes(b, utf8, (size_t)n);
}

/* buf_str_or_empty writes s, or an empty string for NULL: "unknown". */
static void buf_str_or_empty(buffer *b, PyObject *s)
{
    if (s)
        buf_str(b, s);
    else
        buf_u32(b, 0);
}
