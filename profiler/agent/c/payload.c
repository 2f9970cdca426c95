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

/* utf8_cut returns the length of the longest prefix of the n bytes of
 * UTF-8 at s that is at most max bytes and ends at a character's end:
 * names longer than that are not worth a ring's room, and a cut inside a
 * character would not be UTF-8. */
static Py_ssize_t utf8_cut(const char *s, Py_ssize_t n, Py_ssize_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--; /* s[max], the first byte cut off, continues a character */
    return max;
}

static void buf_str(buffer *b, PyObject *s)
{
    Py_ssize_t n = 0;
    PyObject *replaced = NULL;
    const char *utf8 = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (!utf8 && s && PyUnicode_Check(s)) {
        /* A code point UTF-8 cannot carry, a lone surrogate (a file name
         * that is not UTF-8, decoded with surrogateescape), reads as "?",
         * as the pure-Python agent and the sampler read it. */
        PyErr_Clear();
        char *bytes = NULL;
        replaced = PyUnicode_AsEncodedString(s, "utf-8", "replace");
        if (replaced && PyBytes_AsStringAndSize(replaced, &bytes, &n) == 0)
            utf8 = bytes;
    }
    if (!utf8) {
        PyErr_Clear();
        utf8 = "?";
        n = 1;
    }
    n = utf8_cut(utf8, n, PYPROF_MAX_STRING);
    buf_u32(b, (uint32_t)n);
    buf_bytes(b, utf8, (size_t)n);
    Py_DecRef(replaced);
}

/* buf_str_or_empty writes s, or an empty string for NULL: "unknown". */
static void buf_str_or_empty(buffer *b, PyObject *s)
{
    if (s)
        buf_str(b, s);
    else
        buf_u32(b, 0);
}
