/* The batch prefilter of agents/extract/prefilter.py (`scan_batch`), compiled; and the
 * reading of requests that are only counted (`access_requests`: formats._ACCESS_BYTES;
 * `routes`: findings.normalise_endpoint), each returning None where Python must decide.
 *
 * Same answers as the Python reference for every batch of bytes values: the indices of
 * the records that must be parsed, and the indices (ascending) of those that may be
 * requests. Each regular expression of prefilter.py is written out below as the byte
 * test it amounts to; the Python module stays the reference, and the tests compare the
 * two on the test corpus, generated days and random bytes
 * (tests/unit/extract/test_compiled_scan.py).
 *
 * Optional: built by `pip install` where a C compiler is present (setup.py); without
 * it, or with LOGWARDEN_PURE_PYTHON=1, prefilter.py runs its own code. Never raises on
 * any bytes; a value that is not bytes raises TypeError (the caller then falls back).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

typedef const unsigned char *bytes_t;

static unsigned char LOWER[256];
static unsigned char FIRST[256];  /* [efcptwsa], either case */

static inline int is_space(unsigned char c) {  /* `\s` of a bytes pattern */
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_word(unsigned char c) {  /* `\w` of a bytes pattern */
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* `lit` (lower case) at b[i:], compared lower-cased. */
static inline int at_lower(bytes_t b, Py_ssize_t n, Py_ssize_t i, const char *lit, Py_ssize_t len) {
    if (i + len > n) return 0;
    for (Py_ssize_t k = 0; k < len; k++)
        if (LOWER[b[i + k]] != (unsigned char)lit[k]) return 0;
    return 1;
}
static inline int at_exact(bytes_t b, Py_ssize_t n, Py_ssize_t i, const char *lit, Py_ssize_t len) {
    return i + len <= n && memcmp(b + i, lit, (size_t)len) == 0;
}
#define AT_LOWER(b, n, i, lit) at_lower(b, n, i, lit, (Py_ssize_t)(sizeof(lit) - 1))
#define AT_EXACT(b, n, i, lit) at_exact(b, n, i, lit, (Py_ssize_t)(sizeof(lit) - 1))

/* _CANDIDATE_WORDS on the lower-cased record:
 * [efcptwsa](?:r(?:r|it|aceback)|a(?:tal|nic|rn)|xception|evere|merg|lert|egmentation|igsegv| memory: kill) */
static int candidate_word(bytes_t b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i + 2 < n; i++) {
        if (!FIRST[b[i]]) continue;
        Py_ssize_t j = i + 2;
        switch (LOWER[b[i + 1]]) {
        case 'r':
            if (AT_LOWER(b, n, j, "r") || AT_LOWER(b, n, j, "it") || AT_LOWER(b, n, j, "aceback")) return 1;
            break;
        case 'a':
            if (AT_LOWER(b, n, j, "tal") || AT_LOWER(b, n, j, "nic") || AT_LOWER(b, n, j, "rn")) return 1;
            break;
        case 'x':
            if (AT_LOWER(b, n, j, "ception")) return 1;
            break;
        case 'e':
            if (AT_LOWER(b, n, j, "vere") || AT_LOWER(b, n, j, "gmentation")) return 1;
            break;
        case 'm':
            if (AT_LOWER(b, n, j, "erg")) return 1;
            break;
        case 'l':
            if (AT_LOWER(b, n, j, "ert")) return 1;
            break;
        case 'i':
            if (AT_LOWER(b, n, j, "gsegv")) return 1;
            break;
        case ' ':
            if (AT_LOWER(b, n, j, "memory: kill")) return 1;
            break;
        }
    }
    return 0;
}

/* _STATUS_5XX_LOWER on the lower-cased record: status(?:_?code)?"?\s?[:=]\s?"?5\d\d\b */
static int status_5xx(bytes_t b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i + 6 <= n; i++) {
        if (LOWER[b[i]] != 's' || !AT_LOWER(b, n, i, "status")) continue;
        Py_ssize_t q = i + 6;
        if (AT_LOWER(b, n, q, "_code")) q += 5;
        else if (AT_LOWER(b, n, q, "code")) q += 4;
        if (q < n && b[q] == '"') q++;
        if (q < n && is_space(b[q])) q++;
        if (q >= n || (b[q] != ':' && b[q] != '=')) continue;
        q++;
        if (q < n && is_space(b[q])) q++;
        if (q < n && b[q] == '"') q++;
        if (q + 3 > n || b[q] != '5' || !is_digit(b[q + 1]) || !is_digit(b[q + 2])) continue;
        if (q + 3 == n || !is_word(b[q + 3])) return 1;  /* \b: the record's end is a NUL */
    }
    return 0;
}

/* _BLOB_AT_START: \x00(?:<|[EFW](?:\d{4}|\d{1,3}(?=\x00))|[ \t]\s*(?:at \S|File ")|{"tick":)
 * (in the joined batch the record's end is a NUL, which `\S` takes) */
static int at_start(bytes_t b, Py_ssize_t n) {
    if (n == 0) return 0;
    unsigned char c = b[0];
    if (c == '<') return 1;
    if (c == 'E' || c == 'F' || c == 'W') {
        Py_ssize_t k = 0;
        while (k < 4 && 1 + k < n && is_digit(b[1 + k])) k++;
        return k == 4 || (k >= 1 && 1 + k == n);
    }
    if (c == ' ' || c == '\t') {
        Py_ssize_t j = 1;
        while (j < n && is_space(b[j])) j++;
        if (AT_EXACT(b, n, j, "at ")) return j + 3 == n || !is_space(b[j + 3]);
        return AT_EXACT(b, n, j, "File \"");
    }
    return AT_EXACT(b, n, 0, "{\"tick\":");
}

/* _SERVER_ERROR: " 5\d\d (a space after) ; _NUMERIC_LEVEL: "level":\s?[4-6]\d */
static int inside(bytes_t b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (b[i] != '"') continue;
        if (i + 6 <= n && b[i + 1] == ' ' && b[i + 2] == '5' && is_digit(b[i + 3]) && is_digit(b[i + 4])
            && b[i + 5] == ' ')
            return 1;
        if (AT_EXACT(b, n, i, "\"level\":")) {
            Py_ssize_t q = i + 8;
            if (q < n && is_space(b[q])) q++;
            if (q + 2 <= n && b[q] >= '4' && b[q] <= '6' && is_digit(b[q + 1])) return 1;
        }
    }
    return 0;
}

/* _REQUEST: \] \\?"  or  status(?:_?code|Code)?"?\s*[:=]\s*"?\d{3} */
static int request(bytes_t b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == ']') {
            if (i + 2 < n && b[i + 1] == ' ' && (b[i + 2] == '"' || (b[i + 2] == '\\' && i + 3 < n && b[i + 3] == '"')))
                return 1;
        } else if (c == 's' && AT_EXACT(b, n, i, "status")) {
            Py_ssize_t q = i + 6;
            if (AT_EXACT(b, n, q, "_code")) q += 5;
            else if (AT_EXACT(b, n, q, "code") || AT_EXACT(b, n, q, "Code")) q += 4;
            if (q < n && b[q] == '"') q++;
            while (q < n && is_space(b[q])) q++;
            if (q >= n || (b[q] != ':' && b[q] != '=')) continue;
            q++;
            while (q < n && is_space(b[q])) q++;
            if (q < n && b[q] == '"') q++;
            if (q + 3 <= n && is_digit(b[q]) && is_digit(b[q + 1]) && is_digit(b[q + 2])) return 1;
        }
    }
    return 0;
}

static int must_parse(bytes_t b, Py_ssize_t n, Py_ssize_t max_bytes) {
    if (n > max_bytes) return 1;
    if (n && memchr(b, 0, (size_t)n)) return 1;
    if (at_start(b, n)) return 1;
    if (n && b[0] == '{' && b[n - 1] != '}') return 1;  /* _CUT_JSON */
    for (Py_ssize_t i = 0; i < n; i++)
        if (b[i] & 0x80) return 1;  /* _NON_ASCII */
    return candidate_word(b, n) || status_5xx(b, n) || inside(b, n);
}

static PyObject *scan_batch(PyObject *self, PyObject *args) {
    PyObject *values;
    Py_ssize_t max_bytes;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &values, &max_bytes)) return NULL;
    PyObject *found = PySet_New(NULL), *requests = PyList_New(0);
    if (found == NULL || requests == NULL) goto fail;
    Py_ssize_t count = PyList_GET_SIZE(values);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!PyBytes_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "scan_batch takes a list of bytes");
            goto fail;
        }
        bytes_t b = (bytes_t)PyBytes_AS_STRING(value);
        Py_ssize_t n = PyBytes_GET_SIZE(value);
        int parse = must_parse(b, n, max_bytes), maybe_request = request(b, n);
        if (parse || maybe_request) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (index == NULL) goto fail;
            int failed = (parse && PySet_Add(found, index) < 0)
                         || (maybe_request && PyList_Append(requests, index) < 0);
            Py_DECREF(index);
            if (failed) goto fail;
        }
    }
    return Py_BuildValue("(NN)", found, requests);
fail:
    Py_XDECREF(found);
    Py_XDECREF(requests);
    return NULL;
}


/* --- requests: formats._ACCESS_BYTES and findings.normalise_endpoint ------------------ */

static inline int token_char(unsigned char c) {  /* [^\s\x1c-\x1f] */
    return !is_space(c) && !(c >= 0x1c && c <= 0x1f);
}

/* `" (\d{3}) ` at q: the status, or -1. */
static int status_at(bytes_t b, Py_ssize_t n, Py_ssize_t q) {
    if (q < 0 || q + 6 > n || b[q] != '"' || b[q + 1] != ' ' || !is_digit(b[q + 2]) || !is_digit(b[q + 3])
        || !is_digit(b[q + 4]) || b[q + 5] != ' ')
        return -1;
    return (b[q + 2] - '0') * 100 + (b[q + 3] - '0') * 10 + (b[q + 4] - '0');
}

/* _ACCESS_BYTES.match, anchored at 0:
 * ([^ "\[\n][^ \[\n]*) [^\s\x1c-\x1f]+ [^\s\x1c-\x1f]+ \[([^\]]+)\] "(?:([A-Z]+) ([^\s\x1c-\x1f]+)[^"]*|[^"]*)" (\d{3})
 * (and a space). On a match: 1, the method and target spans (length 0 when the
 * request is not "METHOD target") and the status. */
static int access_match(bytes_t b, Py_ssize_t n, Py_ssize_t *m0, Py_ssize_t *m1, Py_ssize_t *t0, Py_ssize_t *t1,
                        int *status) {
    Py_ssize_t p = 0;
    if (n == 0 || b[0] == ' ' || b[0] == '"' || b[0] == '[' || b[0] == '\n') return 0;
    while (p < n && b[p] != ' ' && b[p] != '[' && b[p] != '\n') p++;
    if (p >= n || b[p] != ' ') return 0;
    p++;
    for (int field = 0; field < 2; field++) {  /* two tokens, each followed by a space */
        Py_ssize_t start = p;
        while (p < n && token_char(b[p])) p++;
        if (p == start || p >= n || b[p] != ' ') return 0;
        p++;
    }
    if (p >= n || b[p] != '[') return 0;
    p++;
    Py_ssize_t start = p;
    while (p < n && b[p] != ']') p++;
    if (p == start || p + 2 >= n || b[p + 1] != ' ' || b[p + 2] != '"') return 0;
    Py_ssize_t s = p + 3;  /* after the opening quote */
    /* First alternative: METHOD, a space, the target (greedy, may hold quotes), then
     * anything but a quote up to the closing quote: the longest target that lets the
     * rest match. Q(e), the first quote at or after e, follows e down. */
    Py_ssize_t q = s;
    while (q < n && b[q] >= 'A' && b[q] <= 'Z') q++;
    if (q > s && q < n && b[q] == ' ') {
        Py_ssize_t first = q + 1, end = first;
        while (end < n && token_char(b[end])) end++;
        if (end > first) {
            Py_ssize_t quote = end;
            while (quote < n && b[quote] != '"') quote++;
            for (Py_ssize_t e = end; e > first; e--) {
                if (e < end && b[e] == '"') quote = e;
                if (quote >= n) continue;
                int code = status_at(b, n, quote);
                if (code >= 0) {
                    *m0 = s, *m1 = q, *t0 = first, *t1 = e, *status = code;
                    return 1;
                }
            }
        }
    }
    /* Second alternative: anything but a quote, then the closing quote. */
    q = s;
    while (q < n && b[q] != '"') q++;
    int code = q < n ? status_at(b, n, q) : -1;
    if (code < 0) return 0;
    *m0 = *m1 = *t0 = *t1 = 0, *status = code;
    return 1;
}

static PyObject *access_requests(PyObject *self, PyObject *args) {
    PyObject *values;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &values)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(values);
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyList_GET_ITEM(values, i), *item = Py_None;
        if (!PyBytes_Check(value)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "access_requests takes a list of bytes");
            return NULL;
        }
        bytes_t b = (bytes_t)PyBytes_AS_STRING(value);
        Py_ssize_t n = PyBytes_GET_SIZE(value), m0, m1, t0, t1;
        int status, plain = n > 0 && b[0] != '"';
        for (Py_ssize_t k = 0; plain && k < n; k++)  /* ASCII, and no "|" (a compose prefix: Python decides) */
            if (b[k] & 0x80 || b[k] == '|') plain = 0;
        if (plain && access_match(b, n, &m0, &m1, &t0, &t1, &status)) {
            item = Py_BuildValue("(s#s#i)", (const char *)b + m0, m1 - m0, (const char *)b + t0, t1 - t0, status);
            if (item == NULL) {
                Py_DECREF(out);
                return NULL;
            }
        } else {
            Py_INCREF(item);
        }
        PyList_SET_ITEM(out, i, item);
    }
    return out;
}

/* One path segment of ASCII [A-Za-z0-9_-] characters (the caller checked) is an id:
 * findings._ID_SEGMENT, ^(?:\d+|uuid|[0-9a-fA-F]{12,}|[\w-]*\d[\w-]*\d[\w-]*|[A-Za-z0-9_-]{20,})$ */
static int is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int id_segment(bytes_t b, Py_ssize_t n) {
    if (n == 0) return 0;
    Py_ssize_t digits = 0, hex = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        digits += is_digit(b[k]);
        hex += is_hex(b[k]);
    }
    /* A UUID is 36 characters of [0-9a-f-]: the 20-or-more rule takes it already. */
    return digits == n || digits >= 2 || n >= 20 || (hex == n && n >= 12);
}

/* findings.normalise_endpoint(method, target) for each (method, target) whose method is
 * ASCII letters and whose target is printable ASCII without "://"; None for any other
 * (the caller asks the Python function). */
static PyObject *routes(PyObject *self, PyObject *args) {
    PyObject *pairs;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &pairs)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(pairs);
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    char buffer[4096];
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(pairs, i), *item = NULL;
        Py_ssize_t ml = 0, tl = 0;
        const char *method = NULL, *target = NULL;
        if (PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 && PyUnicode_Check(PyTuple_GET_ITEM(pair, 0))
            && PyUnicode_Check(PyTuple_GET_ITEM(pair, 1))) {
            method = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 0), &ml);
            target = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 1), &tl);
            if (method == NULL || target == NULL) {
                Py_DECREF(out);
                return NULL;
            }
        }
        /* a one-character id becomes "{id}": the route is at most 2.5 times the target */
        int plain = method != NULL && ml + 3 * tl + 8 < (Py_ssize_t)sizeof(buffer);
        for (Py_ssize_t k = 0; plain && k < ml; k++)
            plain = (method[k] >= 'A' && method[k] <= 'Z') || (method[k] >= 'a' && method[k] <= 'z');
        for (Py_ssize_t k = 0; plain && k < tl; k++)
            plain = (unsigned char)target[k] > ' ' && (unsigned char)target[k] < 0x7f;
        for (Py_ssize_t k = 0; plain && k + 2 < tl; k++)
            plain = !(target[k] == ':' && target[k + 1] == '/' && target[k + 2] == '/');
        if (!plain) {
            item = Py_None;
            Py_INCREF(item);
        } else if (ml == 0 && tl == 0) {
            item = PyUnicode_FromStringAndSize("", 0);
        } else {
            Py_ssize_t w = 0, end = 0;
            for (Py_ssize_t k = 0; k < ml; k++)
                buffer[w++] = (method[k] >= 'a' && method[k] <= 'z') ? (char)(method[k] - 32) : method[k];
            if (ml) buffer[w++] = ' ';
            while (end < tl && target[end] != '?' && target[end] != '#') end++;
            /* "/" + path, each segment after a "/" replaced by {id} when it is one; the
             * leading "/" dropped again, and "/" for an empty route. */
            Py_ssize_t route = w, k = 0;
            int leading = 1;  /* the "/" put in front of the path */
            while (k <= end) {
                Py_ssize_t seg = k;
                while (k < end && target[k] != '/') k++;
                int ident = 1;
                for (Py_ssize_t j = seg; ident && j < k; j++) {
                    unsigned char c = (unsigned char)target[j];
                    ident = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
                }
                if (!leading) buffer[w++] = '/';
                leading = 0;
                if (ident && id_segment((bytes_t)target + seg, k - seg)) {
                    memcpy(buffer + w, "{id}", 4);
                    w += 4;
                } else {
                    memcpy(buffer + w, target + seg, (size_t)(k - seg));
                    w += k - seg;
                }
                k++;  /* past the "/" (or the end) */
            }
            if (w == route) buffer[w++] = '/';
            item = PyUnicode_FromStringAndSize(buffer, w);
        }
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, item);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"scan_batch", scan_batch, METH_VARARGS,
     "scan_batch(values: list[bytes], max_bytes: int) -> (set of indices to parse, list of request indices)"},
    {"access_requests", access_requests, METH_VARARGS,
     "access_requests(values: list[bytes]) -> [(method, target, status) or None]"},
    {"routes", routes, METH_VARARGS, "routes(pairs: list[tuple[str, str]]) -> [route or None]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__scan(void) {
    for (int c = 0; c < 256; c++) LOWER[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    for (const char *p = "efcptwsaEFCPTWSA"; *p; p++) FIRST[(unsigned char)*p] = 1;
    return PyModule_Create(&module);
}
