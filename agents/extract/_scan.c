/* The compiled parts of log extraction (agents/extract), each beside the Python code it
 * stands in for, which stays the reference the tests hold it to:
 *   scan_batch, scan_flags    the batch prefilter of prefilter.py;
 *   requests, access_requests the reading of requests that are only counted
 *                             (formats.requests_of_records: access lines, flat JSON);
 *   routes                    findings.normalise_endpoint;
 *   count_lines               the fast path's loop of partition.PartitionExtractor._feed;
 *   may_continue              whether prefilter.continuation can match (count_lines asks
 *                             the pattern only where it can);
 *   plain_line                a plain text line's time, level and origin (formats._plain);
 *   tally_requests            its routes added up per window (_count_requests);
 *   json_warning              the reading of a JSON warning (partition._warning_fields);
 *   values_and_stamps         the values and broker times of a fetched batch;
 *   compose_service_time      a replay's reading of a file line's service and time;
 *   redact_plan               which of agents/redact.py's rules and patterns can change
 *                             a text (redact._plan: their guards and gates).
 * Each answers None (or stops, for count_lines) where Python must decide.
 *
 * The prefilter gives the same answers as the Python reference for every batch of bytes
 * values: the records that must be parsed, and those that may be requests. Each regular
 * expression of prefilter.py is written out below as the byte test it amounts to
 * (tests/unit/extract/test_compiled_scan.py).
 *
 * Optional: built by `pip install` where a C compiler is present (setup.py); without
 * it, or with LOGWARDEN_PURE_PYTHON=1, the Python code runs. Never raises on any bytes;
 * a value that is not bytes raises TypeError (the caller then falls back).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef const unsigned char *bytes_t;

static unsigned char LOWER[256];
static unsigned char FIRST[256];  /* [efcptwsa], either case */

static inline int is_space(unsigned char c) {  /* `\s` of a bytes pattern */
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static inline int is_word(unsigned char c) {  /* `\w` of a bytes pattern */
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* No byte over 0x7f: eight bytes at a time. */
static int ascii(bytes_t b, Py_ssize_t n) {
    Py_ssize_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t word;
        memcpy(&word, b + k, 8);
        if (word & 0x8080808080808080ULL) return 0;
    }
    for (; k < n; k++)
        if (b[k] & 0x80) return 0;
    return 1;
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

/* Each test below at one position i of the record: the loop in scan_one tries it where
 * a byte of the kind it starts with stands (CLASS). */

/* _CANDIDATE_WORDS on the lower-cased record:
 * [efcptwsa](?:r(?:r|it|aceback)|a(?:tal|nic|rn)|xception|evere|merg|lert|egmentation|igsegv| memory: kill) */
static unsigned char SECOND[256];  /* the byte after a candidate word's first: [raxemli ], either case */
/* By that second byte, the third bytes a candidate word can have (lower-cased, bit
 * `byte & 31`; a byte of another kind may share a bit and only costs candidate_at's look):
 * r[ria] a[tnr] xc e[vg] me le ig " m". Most [efcptwsa] + [raxemli ] pairs of ordinary
 * text ("ea", "te", "se", "al") stop here. */
static uint32_t THIRD[256];

static int candidate_at(bytes_t b, Py_ssize_t n, Py_ssize_t i) {
    if (i + 2 >= n || !FIRST[b[i]] || !SECOND[b[i + 1]]) return 0;
    Py_ssize_t j = i + 2;
    switch (LOWER[b[i + 1]]) {
    case 'r':
        return AT_LOWER(b, n, j, "r") || AT_LOWER(b, n, j, "it") || AT_LOWER(b, n, j, "aceback");
    case 'a':
        return AT_LOWER(b, n, j, "tal") || AT_LOWER(b, n, j, "nic") || AT_LOWER(b, n, j, "rn");
    case 'x':
        return AT_LOWER(b, n, j, "ception");
    case 'e':
        return AT_LOWER(b, n, j, "vere") || AT_LOWER(b, n, j, "gmentation");
    case 'm':
        return AT_LOWER(b, n, j, "erg");
    case 'l':
        return AT_LOWER(b, n, j, "ert");
    case 'i':
        return AT_LOWER(b, n, j, "gsegv");
    case ' ':
        return AT_LOWER(b, n, j, "memory: kill");
    }
    return 0;
}

/* A status field's name and separator at i, as two patterns of prefilter.py write it:
 * loose (`_STATUS_5XX_LOWER`, on the lower-cased record):  status(?:_?code)?"?\s?[:=]\s?"?
 * exact (`_REQUEST`):                   status(?:_?code|Code)?"?\s*[:=]\s*"?
 * the index after it, or -1. */
static Py_ssize_t status_field(bytes_t b, Py_ssize_t n, Py_ssize_t i, int loose) {
    if (loose ? !AT_LOWER(b, n, i, "status") : !AT_EXACT(b, n, i, "status")) return -1;
    Py_ssize_t q = i + 6;
    if (loose ? AT_LOWER(b, n, q, "_code") : AT_EXACT(b, n, q, "_code")) q += 5;
    else if (loose ? AT_LOWER(b, n, q, "code") : AT_EXACT(b, n, q, "code") || AT_EXACT(b, n, q, "Code")) q += 4;
    if (q < n && b[q] == '"') q++;
    for (int blanks = 0; q < n && is_space(b[q]) && (!loose || blanks < 1); blanks++) q++;
    if (q >= n || (b[q] != ':' && b[q] != '=')) return -1;
    q++;
    for (int blanks = 0; q < n && is_space(b[q]) && (!loose || blanks < 1); blanks++) q++;
    if (q < n && b[q] == '"') q++;
    return q;
}

/* _STATUS_5XX_LOWER: the loose status field, then 5\d\d\b */
static int status_5xx_at(bytes_t b, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t q = status_field(b, n, i, 1);
    if (q < 0 || q + 3 > n || b[q] != '5' || !is_digit(b[q + 1]) || !is_digit(b[q + 2])) return 0;
    return q + 3 == n || !is_word(b[q + 3]);  /* \b: the record's end is a NUL */
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
static int inside_at(bytes_t b, Py_ssize_t n, Py_ssize_t i) {
    if (b[i] != '"') return 0;
    if (i + 6 <= n && b[i + 1] == ' ' && b[i + 2] == '5' && is_digit(b[i + 3]) && is_digit(b[i + 4])
        && b[i + 5] == ' ')
        return 1;
    if (AT_EXACT(b, n, i, "\"level\":")) {
        Py_ssize_t q = i + 8;
        if (q < n && is_space(b[q])) q++;
        if (q + 2 <= n && b[q] >= '4' && b[q] <= '6' && is_digit(b[q + 1])) return 1;
    }
    return 0;
}

/* _REQUEST: \] \\?"  or the exact status field, then \d{3} */
static int request_at(bytes_t b, Py_ssize_t n, Py_ssize_t i) {
    if (b[i] == ']')
        return i + 2 < n && b[i + 1] == ' ' && (b[i + 2] == '"' || (b[i + 2] == '\\' && i + 3 < n && b[i + 3] == '"'));
    Py_ssize_t q = b[i] == 's' ? status_field(b, n, i, 0) : -1;
    return q >= 0 && q + 3 <= n && is_digit(b[q]) && is_digit(b[q + 1]) && is_digit(b[q + 2]);
}

/* The kinds of byte a test starts at (CLASS): a NUL or a byte over 0x7f makes the record
 * one to parse at once; the others start a test. */
enum { K_PARSE = 1, K_WORD = 2, K_STATUS = 4, K_QUOTE = 8, K_BRACKET = 16 };
static unsigned char CLASS[256];

/* One record: bit 1 when it must be parsed (an error or warning candidate, a tick,
 * non-ASCII, unfinished JSON, over max_bytes), bit 2 when it may be a request: the
 * tests of prefilter.py, in one pass over its bytes. */
static int scan_one(bytes_t b, Py_ssize_t n, Py_ssize_t max_bytes) {
    int parse = n > max_bytes || at_start(b, n) || (n && b[0] == '{' && b[n - 1] != '}');  /* _CUT_JSON */
    int request = 0;
    for (Py_ssize_t i = 0; i < n && !(parse && request); i++) {
        unsigned char kind = CLASS[b[i]];
        if (!kind) continue;
        if (!parse)
            parse = (kind & K_PARSE)
                    || ((kind & K_WORD) && i + 2 < n && (THIRD[b[i + 1]] >> (LOWER[b[i + 2]] & 31) & 1)
                        && candidate_at(b, n, i))
                    || ((kind & K_STATUS) && i + 1 < n && LOWER[b[i + 1]] == 't' && status_5xx_at(b, n, i))
                    || ((kind & K_QUOTE) && inside_at(b, n, i));
        if (!request && (kind & (K_BRACKET | K_STATUS)) && (b[i] == ']' || (i + 1 < n && b[i + 1] == 't')))
            request = request_at(b, n, i);  /* "status": an "s" before a "t" */
    }
    return parse | (request << 1);
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
        int answer = scan_one((bytes_t)PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), max_bytes);
        int parse = answer & 1, maybe_request = answer >> 1;
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


/* scan_batch's answers as one byte a record: 1 to be parsed, 2 may be a request. */
static PyObject *scan_flags(PyObject *self, PyObject *args) {
    PyObject *values;
    Py_ssize_t max_bytes;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &values, &max_bytes)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(values);
    PyObject *flags = PyByteArray_FromStringAndSize(NULL, count);
    if (flags == NULL) return NULL;
    char *out = PyByteArray_AS_STRING(flags);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!PyBytes_Check(value)) {
            Py_DECREF(flags);
            PyErr_SetString(PyExc_TypeError, "scan_flags takes a list of bytes");
            return NULL;
        }
        out[i] = (char)scan_one((bytes_t)PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), max_bytes);
    }
    return flags;
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

/* --- requests in JSON records: formats.shaped_request on a flat object ---------------
 *
 * The request fields of a JSON record as `requests_of_records` reads them (orjson, then
 * `shaped_request`), read from the bytes when the record is a flat object: ASCII, no
 * nested object or array, no escape in a key or in a value it uses, no number with an
 * exponent or of more than 18 digits, nothing orjson refuses, and a level. Anything
 * else is left to Python. The fields are the names of formats._LEVEL, _STATUS, _METHOD,
 * _PATH and _PLAIN_PATH in their order (in a flat object a dotted name is only ever its
 * own key: its head holds no object to walk into); `json_fields()` hands them to the
 * test that holds them equal to formats.py, as `level_words()` the words of
 * formats._LEVEL_WORDS. */

static const char *LEVEL_KEYS[] = {"level", "lvl", "severity", "levelname", "log.level", "loglevel", "log_level",
                                   "record.level", "PRIORITY", "syslog.severity", "level_name", "status_text", NULL};
static const char *STATUS_KEYS[] = {"res.statusCode", "status", "status_code", "http.status_code",
                                    "http.response.status_code", "response.status", "statusCode", NULL};
static const char *METHOD_KEYS[] = {"req.method", "request.method", "http.method", "http.request.method", "method",
                                    "request_method", NULL};
static const char *PATH_KEYS[] = {"req.url", "request.uri", "request.url", "http.path", "url.path", "http.url", "path",
                                  "uri", "request_uri", NULL};
static const char *PLAIN_PATH_KEYS[] = {"req.url", "request.uri", "request.url", "http.path", "url.path", "http.url",
                                        "request_uri", NULL};
static const char *TIME_KEYS[] = {"timestamp", "@timestamp", "time", "ts", "date", "datetime", "asctime", "t",
                                  "eventTime", "record.time", "__REALTIME_TIMESTAMP", "time_local", NULL};
static const char *BUNYAN_KEYS[] = {"v", NULL};  /* bunyan's version: its `name` may name the service */
enum { F_LEVEL, F_STATUS, F_METHOD, F_PATH, F_PLAIN_PATH, F_TIME, F_BUNYAN, FIELDS };
static const char **FIELD_KEYS[FIELDS] = {LEVEL_KEYS, STATUS_KEYS, METHOD_KEYS, PATH_KEYS, PLAIN_PATH_KEYS, TIME_KEYS,
                                          BUNYAN_KEYS};
static const char *LEVEL_WORDS[] = {
    "trace", "debug", "dbug", "d", "verbose", "v", "info", "information", "informational", "i", "notice", "log", "n",
    "statement", "detail", "hint", "system", "note", "warn", "warning", "w", "error", "err", "e", "eror", "severe",
    "critical", "crit", "c", "alert", "fatal", "f", "panic", "emerg", "emergency", "dpanic", NULL};

static Py_ssize_t LEVEL_WORD_LEN[sizeof(LEVEL_WORDS) / sizeof(LEVEL_WORDS[0])];

/* The distinct names, and for each field the index of each of its names among them
 * (-1 ends the list); filled by the module's init. */
#define MAX_NAMES 64
static const char *NAMES[MAX_NAMES];
static Py_ssize_t NAME_LEN[MAX_NAMES];
static int NAME_COUNT;
static int FIELD_NAMES[FIELDS][16];

static unsigned char STRING_STOP[256];  /* in a JSON string: a quote, a backslash, a control or non-ASCII byte */

/* The names by length and first byte, chained: a key is compared with the few names of
 * its length that start like it. */
#define NAME_LONGEST 40
static signed char NAME_HEAD[NAME_LONGEST][128];
static signed char NAME_NEXT[MAX_NAMES];

static void json_init(void) {
    for (int f = 0; f < FIELDS; f++) {
        int k = 0;
        for (const char **name = FIELD_KEYS[f]; *name; name++, k++) {
            int found = -1;
            for (int j = 0; j < NAME_COUNT && found < 0; j++)
                if (strcmp(NAMES[j], *name) == 0) found = j;
            if (found < 0) {
                found = NAME_COUNT++;
                NAMES[found] = *name;
                NAME_LEN[found] = (Py_ssize_t)strlen(*name);
            }
            FIELD_NAMES[f][k] = found;
        }
        FIELD_NAMES[f][k] = -1;
    }
    for (int k = 0; LEVEL_WORDS[k]; k++) LEVEL_WORD_LEN[k] = (Py_ssize_t)strlen(LEVEL_WORDS[k]);
    for (int c = 0; c < 256; c++) STRING_STOP[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
    memset(NAME_HEAD, -1, sizeof(NAME_HEAD));
    for (int j = NAME_COUNT - 1; j >= 0; j--) {  /* every name is shorter than NAME_LONGEST, ASCII */
        unsigned char first = (unsigned char)NAMES[j][0];
        NAME_NEXT[j] = NAME_HEAD[NAME_LEN[j]][first];
        NAME_HEAD[NAME_LEN[j]][first] = (signed char)j;
    }
}

enum { V_ABSENT, V_STRING, V_ESCAPED, V_INT, V_FRACTION, V_BOOL, V_NULL };

typedef struct {
    int type;
    Py_ssize_t s, e;  /* a string's characters */
    long long number;  /* V_INT */
} jvalue;

static inline int json_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The string opening at b[p]: the index after its closing quote, or -1 where orjson
 * refuses it or this reading leaves it to Python (a raw control or non-ASCII byte, a
 * \u escape in the surrogate range). *escaped: it holds an escape. */
static Py_ssize_t json_string(bytes_t b, Py_ssize_t n, Py_ssize_t p, int *escaped) {
    *escaped = 0;
    for (p++; p < n; p++) {
        unsigned char c = b[p];
        if (!STRING_STOP[c]) continue;
        if (c == '"') return p + 1;
        if (c < 0x20 || c & 0x80) return -1;
        if (c != '\\') continue;
        *escaped = 1;
        if (++p >= n) return -1;
        c = b[p];
        if (c == 'u') {
            if (p + 4 >= n || !is_hex(b[p + 1]) || !is_hex(b[p + 2]) || !is_hex(b[p + 3]) || !is_hex(b[p + 4]))
                return -1;
            if (LOWER[b[p + 1]] == 'd' && (b[p + 2] == '8' || b[p + 2] == '9' || !is_digit(b[p + 2])))
                return -1;  /* D800-DFFF */
            p += 4;
        } else if (c == 0 || !strchr("\"\\/bfnrt", c)) {
            return -1;
        }
    }
    return -1;
}

/* The number at b[p]: the index after it, or -1 (not JSON's grammar, an exponent, more
 * than 18 digits). */
static Py_ssize_t json_number(bytes_t b, Py_ssize_t n, Py_ssize_t p, jvalue *v) {
    int negative = p < n && b[p] == '-', digits = 0;
    long long number = 0;
    p += negative;
    if (p >= n || !is_digit(b[p]) || (b[p] == '0' && p + 1 < n && is_digit(b[p + 1]))) return -1;
    for (; p < n && is_digit(b[p]); p++) {
        if (++digits > 18) return -1;
        number = number * 10 + (b[p] - '0');
    }
    v->type = V_INT;
    if (p < n && b[p] == '.') {
        if (++p >= n || !is_digit(b[p])) return -1;
        for (; p < n && is_digit(b[p]); p++)
            if (++digits > 18) return -1;
        v->type = V_FRACTION;
    }
    if (p < n && (b[p] == 'e' || b[p] == 'E')) return -1;
    v->number = negative ? -number : number;
    return p;
}

/* Is normalise_level(value) not ""? 1, 0, or -1 where Python decides. */
static int level_known(bytes_t b, const jvalue *v) {
    long long number = v->number;
    if (v->type == V_STRING) {
        Py_ssize_t s = v->s, e = v->e;  /* str.strip(): a space is the only blank a plain string holds */
        while (s < e && b[s] == ' ') s++;
        while (e > s && b[e - 1] == ' ') e--;
        int digits = s < e;
        for (Py_ssize_t k = s; digits && k < e; k++) digits = is_digit(b[k]);
        if (!digits) {
            for (int k = 0; LEVEL_WORDS[k]; k++)
                if (LEVEL_WORD_LEN[k] == e - s && at_lower(b, e, s, LEVEL_WORDS[k], e - s)) return 1;
            return 0;
        }
        if (e - s > 18) return -1;
        for (number = 0; s < e; s++) number = number * 10 + (b[s] - '0');
    } else if (v->type != V_INT) {
        return v->type == V_BOOL ? 0 : -1;
    }
    return number >= 10 || (number >= 0 && number <= 7);  /* pino/bunyan, or syslog */
}

/* _first_of: the field's first value that is not null or "" (NULL: none). */
static const jvalue *first_of(const jvalue *values, int field) {
    for (const int *name = FIELD_NAMES[field]; *name >= 0; name++) {
        const jvalue *v = &values[*name];
        if (v->type != V_ABSENT && v->type != V_NULL && !(v->type == V_STRING && v->s == v->e)) return v;
    }
    return NULL;
}

/* A request as byte spans of its record: the method (to be upper-cased: a JSON
 * record's may be in any case) and the target, and the status. */
typedef struct {
    Py_ssize_t m0, m1, t0, t1;
    long status;
} request_t;

/* The values of the known names (and of `extra` names, when given) in a flat JSON object:
 * 1, or 0 where Python decides (see above). */
#define MAX_EXTRA 32
typedef struct {
    int count;
    const char *names[MAX_EXTRA];
    Py_ssize_t lens[MAX_EXTRA];
} names_t;

static int json_object(bytes_t b, Py_ssize_t n, jvalue *values, const names_t *extra, jvalue *extra_values) {
    for (int k = 0; k < NAME_COUNT; k++) values[k].type = V_ABSENT;
    for (int k = 0; extra && k < extra->count; k++) extra_values[k].type = V_ABSENT;
    Py_ssize_t p = 1;
    if (n == 0 || b[0] != '{') return 0;
    while (p < n && json_space(b[p])) p++;
    if (p < n && b[p] == '}') return 0;  /* {}: no level */
    for (;;) {
        int escaped;
        if (p >= n || b[p] != '"') return 0;
        Py_ssize_t ks = p + 1;  /* the key's characters: ks up to the closing quote */
        p = json_string(b, n, p, &escaped);
        if (p < 0 || escaped) return 0;
        Py_ssize_t ke = p - 1;
        while (p < n && json_space(b[p])) p++;
        if (p >= n || b[p] != ':') return 0;
        for (p++; p < n && json_space(b[p]); p++) {}
        if (p >= n) return 0;
        jvalue v = {V_NULL, 0, 0, 0};
        unsigned char c = b[p];
        if (c == '"') {
            v.s = p + 1;
            p = json_string(b, n, p, &escaped);
            v.type = escaped ? V_ESCAPED : V_STRING, v.e = p - 1;
        } else if (c == '-' || is_digit(c)) {
            v.s = p;
            p = json_number(b, n, p, &v);
            v.e = p;
        } else if (AT_EXACT(b, n, p, "true") || AT_EXACT(b, n, p, "null")) {
            v.type = c == 't' ? V_BOOL : V_NULL, v.number = 1, p += 4;
        } else if (AT_EXACT(b, n, p, "false")) {
            v.type = V_BOOL, v.number = 0, p += 5;
        } else {
            return 0;  /* a nested object or array, or not JSON */
        }
        if (p < 0) return 0;
        /* the last of repeated keys counts, as in a dict */
        if (ke - ks > 0 && ke - ks < NAME_LONGEST && b[ks] < 128)
            for (int k = NAME_HEAD[ke - ks][b[ks]]; k >= 0; k = NAME_NEXT[k])
                if (memcmp(NAMES[k], b + ks, (size_t)(ke - ks)) == 0) values[k] = v;
        for (int k = 0; extra && k < extra->count; k++)
            if (extra->lens[k] == ke - ks && memcmp(extra->names[k], b + ks, (size_t)(ke - ks)) == 0)
                extra_values[k] = v;
        while (p < n && json_space(b[p])) p++;
        if (p < n && b[p] == ',') {
            for (p++; p < n && json_space(b[p]); p++) {}
            continue;
        }
        if (p < n && b[p] == '}') break;
        return 0;
    }
    for (p++; p < n && json_space(b[p]); p++) {}
    return p == n;
}

/* The request fields (_STATUS, _METHOD, then _PATH or _PLAIN_PATH) of a scanned record,
 * as spans: 1, or 0 where Python decides. */
static int request_fields_of(bytes_t b, const jvalue *values, request_t *out) {
    const jvalue *status = first_of(values, F_STATUS);
    long code = 0;
    if (status != NULL) {
        if (status->type == V_INT) {
            code = status->number >= 100 && status->number <= 599 ? (long)status->number : 0;
        } else if (status->type == V_STRING && status->e - status->s == 3 && is_digit(b[status->s])
                   && is_digit(b[status->s + 1]) && is_digit(b[status->s + 2])) {
            code = (b[status->s] - '0') * 100 + (b[status->s + 1] - '0') * 10 + (b[status->s + 2] - '0');
        } else if (status->type == V_ESCAPED) {
            return 0;
        }
    }
    /* _text of the method and the target: "" for none, Python decides for anything but
     * a plain string */
    const jvalue *method = first_of(values, F_METHOD);
    if (method != NULL && method->type != V_STRING) return 0;
    out->m0 = method ? method->s : 0, out->m1 = method ? method->e : 0;
    const jvalue *target = first_of(values, out->m1 > out->m0 || code ? F_PATH : F_PLAIN_PATH);
    if (target != NULL && target->type != V_STRING) return 0;
    out->t0 = target ? target->s : 0, out->t1 = target ? target->e : 0;
    out->status = code;
    return 1;
}

/* requests_of_records' answer for a JSON record, as spans of it: 1, or 0 where Python
 * decides. */
static int json_spans(bytes_t b, Py_ssize_t n, request_t *out) {
    jvalue values[MAX_NAMES];
    if (!json_object(b, n, values, NULL, NULL)) return 0;
    const jvalue *level = first_of(values, F_LEVEL);
    if (level == NULL || level_known(b, level) != 1) return 0;  /* no level: a wrapped line */
    return request_fields_of(b, values, out);
}

/* The request of an access line (ASCII, no "|": a compose prefix is Python's) or, with
 * `json`, of a flat JSON record, as spans: 1, or 0 where Python decides. */
static int request_spans(bytes_t b, Py_ssize_t n, int json, request_t *out) {
    if (json && n && b[0] == '{') return json_spans(b, n, out);
    if (n == 0 || b[0] == '"') return 0;
    if (!ascii(b, n) || memchr(b, '|', (size_t)n) != NULL) return 0;
    int status;
    if (!access_match(b, n, &out->m0, &out->m1, &out->t0, &out->t1, &status)) return 0;
    out->status = status;
    return 1;
}

/* A span as a new str (ASCII), upper-cased for a method. */
static PyObject *span_text(bytes_t b, Py_ssize_t s, Py_ssize_t e, int upper) {
    PyObject *text = PyUnicode_New(e - s, 127);
    if (text == NULL) return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t k = s; k < e; k++) *out++ = (Py_UCS1)(upper && b[k] >= 'a' && b[k] <= 'z' ? b[k] - 32 : b[k]);
    return text;
}

/* The reading of requests_of_records for each value: (method, target, status), or None
 * where Python decides; access lines, and with `json` flat JSON records too. */
static PyObject *read_requests(PyObject *values, int json) {
    Py_ssize_t count = PyList_GET_SIZE(values);
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyList_GET_ITEM(values, i), *item = Py_None;
        if (!PyBytes_Check(value)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "requests takes a list of bytes");
            return NULL;
        }
        bytes_t b = (bytes_t)PyBytes_AS_STRING(value);
        request_t r;
        if (request_spans(b, PyBytes_GET_SIZE(value), json, &r)) {
            item = Py_BuildValue("(NNl)", span_text(b, r.m0, r.m1, 1), span_text(b, r.t0, r.t1, 0), r.status);
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

static PyObject *access_requests(PyObject *self, PyObject *args) {
    PyObject *values;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &values)) return NULL;
    return read_requests(values, 0);
}

static PyObject *requests(PyObject *self, PyObject *args) {
    PyObject *values;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &values)) return NULL;
    return read_requests(values, 1);
}

static PyObject *names_tuple(const char **names) {
    PyObject *out = PyList_New(0);
    for (; out != NULL && *names; names++) {
        PyObject *name = PyUnicode_FromString(*names);
        if (name == NULL || PyList_Append(out, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(name);
    }
    return out;
}

static PyObject *json_fields(PyObject *self, PyObject *unused) {
    return Py_BuildValue("(NNNNNN)", names_tuple(LEVEL_KEYS), names_tuple(STATUS_KEYS), names_tuple(METHOD_KEYS),
                         names_tuple(PATH_KEYS), names_tuple(PLAIN_PATH_KEYS), names_tuple(TIME_KEYS));
}

static PyObject *level_words(PyObject *self, PyObject *unused) { return names_tuple(LEVEL_WORDS); }

/* One path segment of ASCII [A-Za-z0-9_-] characters (the caller checked) is an id:
 * findings._ID_SEGMENT, ^(?:\d+|uuid|[0-9a-fA-F]{12,}|[\w-]*\d[\w-]*\d[\w-]*|[A-Za-z0-9_-]{20,})$ */

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

/* findings.normalise_endpoint(method, target) into `buffer` (ROUTE_BUFFER bytes) for a
 * method of ASCII letters and a target of printable ASCII without "://": its length, or
 * -1 for any other (the caller asks the Python function). */
#define ROUTE_BUFFER 4096
static Py_ssize_t route_into(const char *method, Py_ssize_t ml, const char *target, Py_ssize_t tl, char *buffer) {
    /* a one-character id becomes "{id}": the route is at most 2.5 times the target */
    if (ml + 3 * tl + 8 >= ROUTE_BUFFER) return -1;
    for (Py_ssize_t k = 0; k < ml; k++)
        if (!((method[k] >= 'A' && method[k] <= 'Z') || (method[k] >= 'a' && method[k] <= 'z'))) return -1;
    for (Py_ssize_t k = 0; k < tl; k++)
        if ((unsigned char)target[k] <= ' ' || (unsigned char)target[k] >= 0x7f) return -1;
    for (Py_ssize_t k = 0; k + 2 < tl; k++)
        if (target[k] == ':' && target[k + 1] == '/' && target[k + 2] == '/') return -1;
    if (ml == 0 && tl == 0) return 0;
    Py_ssize_t w = 0, end = 0;
    for (Py_ssize_t k = 0; k < ml; k++)
        buffer[w++] = (method[k] >= 'a' && method[k] <= 'z') ? (char)(method[k] - 32) : method[k];
    if (ml) buffer[w++] = ' ';
    while (end < tl && target[end] != '?' && target[end] != '#') end++;
    /* "/" + path, each segment after a "/" replaced by {id} when it is one; the leading
     * "/" dropped again, and "/" for an empty route. */
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
    return w;
}

/* normalise_endpoint of each (method, target) of `pairs` that route_into takes; None for
 * the others. */
static PyObject *routes(PyObject *self, PyObject *args) {
    PyObject *pairs;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &pairs)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(pairs);
    PyObject *out = PyList_New(count);
    if (out == NULL) return NULL;
    char buffer[ROUTE_BUFFER];
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(pairs, i), *item = NULL;
        Py_ssize_t ml = 0, tl = 0, length = -1;
        if (PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 && PyUnicode_Check(PyTuple_GET_ITEM(pair, 0))
            && PyUnicode_Check(PyTuple_GET_ITEM(pair, 1))) {
            const char *method = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 0), &ml);
            const char *target = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 1), &tl);
            if (method == NULL || target == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            length = route_into(method, ml, target, tl, buffer);
        }
        if (length < 0) {
            item = Py_None;
            Py_INCREF(item);
        } else {
            item = PyUnicode_FromStringAndSize(buffer, length);
        }
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, item);
    }
    return out;
}

/* ---- A replay's file lines: the service and time of a `docker compose logs` line ----
 *
 * streams.replay.inputs.service_and_time for the lines it reads most, written out:
 * "<name>  | <text>" (DOCKER_PREFIX of agents/service_name.py) whose text is not JSON
 * and names no service of its own (`text_service` gives ""), with a time that
 * agents/extract/timestamps.py reads by its ISO or access-log pattern. Returns (name,
 * epoch seconds or None) or None where Python must decide: anything else (JSON, a
 * syslog or nested compose header, logfmt service=/app=, non-ASCII, a number, any
 * other time format, an access-log month it does not know). The Python function stays
 * the reference (tests/unit/replay/test_compiled_compose.py). */

static inline int is_uspace(unsigned char c) {  /* `\s` of a str pattern, on ASCII */
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}
static inline int is_prefix_char(unsigned char c) { return is_word(c) || c == '.' || c == '-'; }

/* [\w.-]+\s+\| at b[0:], as DOCKER_PREFIX.match: the end of the name, and the index of
 * the "|"; 0 when it does not match. */
static int compose_prefix(bytes_t b, Py_ssize_t n, Py_ssize_t *name_end, Py_ssize_t *bar) {
    Py_ssize_t i = 0;
    while (i < n && is_prefix_char(b[i])) i++;
    if (i == 0) return 0;
    Py_ssize_t j = i;
    while (j < n && is_uspace(b[j])) j++;
    if (j == i || j + 1 >= n || b[j] != '|' || b[j + 1] != ' ') return 0;
    *name_end = i, *bar = j;
    return 1;
}

static int contains(bytes_t b, Py_ssize_t n, const char *lit) {
    Py_ssize_t len = (Py_ssize_t)strlen(lit);
    for (Py_ssize_t i = 0; i + len <= n; i++)
        if (memcmp(b + i, lit, (size_t)len) == 0) return 1;
    return 0;
}

static int leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* timestamps._epoch: midnight UTC of the date plus the time; 0 for a date or time that
 * does not exist (Python raises ValueError, and parse_timestamp gives None). */
static int epoch_of(long y, long mo, long d, long h, long mi, long s, double *out) {
    static const int days_in[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1) return 0;
    if (d > days_in[mo - 1] + (mo == 2 && leap(y))) return 0;
    if (h > 23 || mi > 59 || s > 59) return 0;
    /* days from 1970-01-01 (civil calendar, proleptic Gregorian as datetime) */
    long yy = y - (mo <= 2), era = (yy >= 0 ? yy : yy - 399) / 400;
    long yoe = yy - era * 400, mp = (mo + 9) % 12;
    long doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    *out = (double)days * 86400.0 + (double)(h * 3600 + mi * 60 + s);
    return 1;
}

static long digits_at(bytes_t b, Py_ssize_t i, int count) {
    long v = 0;
    for (int k = 0; k < count; k++) v = v * 10 + (b[i + k] - '0');
    return v;
}

static int all_digits(bytes_t b, Py_ssize_t end, Py_ssize_t i, int count) {
    if (i + count > end) return 0;
    for (int k = 0; k < count; k++)
        if (!is_digit(b[i + k])) return 0;
    return 1;
}

static inline int in_set(unsigned char c, const char *set) { return c != 0 && strchr(set, c) != NULL; }

/* timestamps._ISO searched in b[0:end] (end = 48 at most): 1 with the epoch (or
 * *valid = 0 for a date that does not exist), 0 when nothing matches. */
static int iso_search(bytes_t b, Py_ssize_t end, double *at, int *valid) {
    for (Py_ssize_t i = 0; i < end; i++) {
        /* four digits, then month, day, hour, minute and second: a separator and two digits each */
        static const char *separators[5] = {"-/.", "-/.", "T _-", ":.", ":."};
        if (!all_digits(b, end, i, 4)) continue;
        Py_ssize_t p = i + 4;
        int ok = 1;
        for (int k = 0; ok && k < 5; k++, p += 3)
            ok = p < end && in_set(b[p], separators[k]) && all_digits(b, end, p + 1, 2);
        if (!ok) continue;  /* p is past the seconds */
        long y = digits_at(b, i, 4), mo = digits_at(b, i + 5, 2), d = digits_at(b, i + 8, 2);
        long h = digits_at(b, i + 11, 2), mi = digits_at(b, i + 14, 2), s = digits_at(b, i + 17, 2);
        /* (?:[.,](\d{1,9}))? */
        Py_ssize_t f0 = 0, f1 = 0;
        if (p + 1 < end && in_set(b[p], ".,") && is_digit(b[p + 1])) {
            f0 = p + 1, f1 = f0;
            while (f1 < end && f1 - f0 < 9 && is_digit(b[f1])) f1++;
            p = f1;
        }
        /* \s*(Z|[+-]\d\d:?\d\d|UTC|GMT)? */
        while (p < end && is_uspace(b[p])) p++;
        long offset = 0;
        if (p < end && (b[p] == '+' || b[p] == '-') && all_digits(b, end, p + 1, 2)) {
            int sign = b[p] == '-' ? -1 : 1;
            if (p + 3 < end && b[p + 3] == ':' && all_digits(b, end, p + 4, 2))
                offset = sign * (digits_at(b, p + 1, 2) * 3600 + digits_at(b, p + 4, 2) * 60);
            else if (all_digits(b, end, p + 3, 2))
                offset = sign * (digits_at(b, p + 1, 2) * 3600 + digits_at(b, p + 3, 2) * 60);
        }
        double base;
        *valid = epoch_of(y, mo, d, h, mi, s, &base);
        if (*valid) {
            double fraction = 0.0;
            if (f1 > f0) {
                char text[16] = "0.";
                memcpy(text + 2, b + f0, (size_t)(f1 - f0));
                text[2 + f1 - f0] = '\0';
                fraction = PyOS_string_to_double(text, NULL, NULL);
                if (fraction == -1.0 && PyErr_Occurred()) return -1;
            }
            *at = (base - (double)offset) + fraction;
        }
        return 1;
    }
    return 0;
}

static int month_of(bytes_t m) {
    static const char *names[12] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int k = 0; k < 12; k++)
        if (LOWER[m[0]] == names[k][0] && LOWER[m[1]] == names[k][1] && LOWER[m[2]] == names[k][2]) return k + 1;
    return 0;
}

static inline int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* timestamps._CLF searched in b[0:end]: 1 with the epoch (*valid as above), 0 when
 * nothing matches, -2 when it matches with a month Python does not know (Python then
 * tries its other patterns). */
static int clf_search(bytes_t b, Py_ssize_t end, double *at, int *valid) {
    for (Py_ssize_t i = 0; i < end; i++) {
        Py_ssize_t p = i;
        if (!all_digits(b, end, p, 2) || p + 2 >= end || b[p + 2] != '/') continue;
        p += 3;
        if (p + 3 > end || !is_alpha(b[p]) || !is_alpha(b[p + 1]) || !is_alpha(b[p + 2])) continue;
        Py_ssize_t mon = p;
        p += 3;
        if (p >= end || b[p] != '/' || !all_digits(b, end, p + 1, 4)) continue;
        p += 5;
        int ok = 1;  /* hour, minute, second: ":" and two digits each */
        for (int k = 0; ok && k < 3; k++, p += 3)
            ok = p < end && b[p] == ':' && all_digits(b, end, p + 1, 2);
        if (!ok) continue;
        long offset = 0;  /* (?:\s*([+-]\d{4}))? */
        Py_ssize_t z = p;
        while (z < end && is_uspace(b[z])) z++;
        if (z < end && (b[z] == '+' || b[z] == '-') && all_digits(b, end, z + 1, 4))
            offset = (b[z] == '-' ? -1 : 1) * (digits_at(b, z + 1, 2) * 3600 + digits_at(b, z + 3, 2) * 60);
        int month = month_of(b + mon);
        if (!month) return -2;
        double base;
        *valid = epoch_of(digits_at(b, mon + 4, 4), month, digits_at(b, i, 2), digits_at(b, mon + 9, 2),
                          digits_at(b, mon + 12, 2), digits_at(b, mon + 15, 2), &base);
        if (*valid) *at = base - (double)offset;
        return 1;
    }
    return 0;
}

/* parse_timestamp of a text stripped to b[lo:hi] (not empty): 2 when it is a number
 * (digits with one point at most: the caller reads it), 1 with *at for an ISO 8601 or
 * access-log time, 0 for one whose date does not exist (None), -1 where Python decides
 * (another format, a month it does not know), -2 on error. */
static int text_time(bytes_t b, Py_ssize_t lo, Py_ssize_t hi, double *at) {
    int number = is_digit(b[lo]), dots = 0;
    for (Py_ssize_t k = lo; number && k < hi; k++) {
        if (b[k] == '.' && dots++ == 0) continue;
        number = is_digit(b[k]);
    }
    if (number) return 2;
    Py_ssize_t end = hi - lo < 48 ? hi - lo : 48;
    int valid = 0, found = iso_search(b + lo, end, at, &valid);
    if (found < 0) return -2;
    if (!found) found = clf_search(b + lo, end, at, &valid);
    return found != 1 ? -1 : valid;
}

static PyObject *compose_service_time(PyObject *self, PyObject *args) {
    const char *raw;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y#", &raw, &n)) return NULL;
    bytes_t b = (bytes_t)raw;
    if (n == 0 || b[0] < 'a' || b[0] > 'z') Py_RETURN_NONE;
    if (!ascii(b, n)) Py_RETURN_NONE;
    Py_ssize_t first = -1;  /* line.find(b" | ", 0, 80) */
    for (Py_ssize_t k = 0; k + 3 <= n && k + 3 <= 80; k++)
        if (b[k] == ' ' && b[k + 1] == '|' && b[k + 2] == ' ') {
            first = k;
            break;
        }
    Py_ssize_t name_end, bar;
    if (first <= 0 || !compose_prefix(b, n, &name_end, &bar) || name_end >= 64 || bar != first + 1)
        Py_RETURN_NONE;
    bytes_t t = b + bar + 2;  /* the text after the prefix */
    Py_ssize_t tn = n - (bar + 2);
    /* text_service(text) must be "": no header of its own, no service=/app= */
    if (tn > 0) {
        unsigned char head = t[0];
        if (head == '<' || head == '{' || (head >= 'A' && head <= 'Z')) Py_RETURN_NONE;
        if (is_digit(head) && tn > 10 && t[10] == 'T') Py_RETURN_NONE;  /* may be SYSLOG_ISO */
        Py_ssize_t ne, nb;
        if (compose_prefix(t, tn, &ne, &nb)) Py_RETURN_NONE;
        if (contains(t, tn, "service=") || contains(t, tn, "app=")) Py_RETURN_NONE;
    }
    /* parse_timestamp(text[:96]): stripped, then the ISO pattern, then the access-log one */
    Py_ssize_t lo = 0, hi = tn < 96 ? tn : 96;
    while (lo < hi && is_uspace(t[lo])) lo++;
    while (hi > lo && is_uspace(t[hi - 1])) hi--;
    PyObject *at = NULL;
    if (tn == 0) {
        at = Py_None;
        Py_INCREF(at);
    } else {
        if (hi == lo) Py_RETURN_NONE;
        double when = 0.0;
        int timed = text_time(t, lo, hi, &when);
        if (timed == -2) return NULL;
        if (timed < 0 || timed == 2) Py_RETURN_NONE;  /* a number, or another format: Python's */
        at = timed ? PyFloat_FromDouble(when) : Py_NewRef(Py_None);
        if (at == NULL) return NULL;
    }
    PyObject *out = Py_BuildValue("(s#N)", raw, name_end, at);
    return out;
}

/* ---- A plain text line: formats._plain ----------------------------------------------
 *
 * plain_line(text: str) -> (message start, level start, level end, logger start, logger
 * end, timestamp) of an ASCII line, as formats._plain reads it: its leading time
 * (_LEADING_TIME), the first level word in the message's first 160 characters
 * (_LEVEL_TOKEN, the start -1 for none), and after a time and a level word at the
 * message's start, the bracketed origin (_BRACKETED_ORIGIN, the logger); the timestamp
 * as parse_timestamp gives it from the time. None where Python decides (a time
 * parse_timestamp reads otherwise). The Python function stays the reference
 * (tests/unit/extract/test_compiled_plain.py). */

static const char *LEVEL_TOKENS[] = {
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "CRITICAL", "CRIT", "SEVERE", "FATAL",
    "PANIC", "ALERT", "EMERG", "trace", "debug", "info", "notice", "warn", "warning", "error", "err", "critical",
    "crit", "fatal", "panic", NULL};

/* (?=$|[\s\]>):|,]) after a level word, and [\s\[<(|] before one */
static inline int level_after(unsigned char c) { return is_uspace(c) || (c != 0 && strchr("]>):|,", c) != NULL); }
static inline int level_before(unsigned char c) { return is_uspace(c) || (c != 0 && strchr("[<(|", c) != NULL); }

/* The length of the level word at s[p] (the first of LEVEL_TOKENS, in their order, that
 * stands there and is followed by the end or a stop), 0 for none. */
static Py_ssize_t level_word_at(bytes_t s, Py_ssize_t p, Py_ssize_t end) {
    for (const char **word = LEVEL_TOKENS; *word; word++) {
        Py_ssize_t len = (Py_ssize_t)strlen(*word);
        if (p + len <= end && memcmp(s + p, *word, (size_t)len) == 0 && (p + len == end || level_after(s[p + len])))
            return len;
    }
    return 0;
}

/* _LEADING_TIME.match: 1 with the time's span [*t0, *t1) and the match's end, else 0. */
static int leading_time(bytes_t s, Py_ssize_t n, Py_ssize_t *t0, Py_ssize_t *t1, Py_ssize_t *stop) {
    Py_ssize_t p = n > 0 && s[0] == '[' ? 1 : 0, q;
    if (!all_digits(s, n, p, 4) || p + 4 >= n || (s[p + 4] != '-' && s[p + 4] != '/')) return 0;
    unsigned char sep = s[p + 4];
    /* YYYY-MM-DD[T ]HH:MM:SS or YYYY/MM/DD HH:MM:SS */
    if (!(all_digits(s, n, p + 5, 2) && p + 7 < n && s[p + 7] == sep && all_digits(s, n, p + 8, 2) && p + 10 < n
          && (s[p + 10] == ' ' || (sep == '-' && s[p + 10] == 'T')) && all_digits(s, n, p + 11, 2) && p + 13 < n
          && s[p + 13] == ':' && all_digits(s, n, p + 14, 2) && p + 16 < n && s[p + 16] == ':'
          && all_digits(s, n, p + 17, 2)))
        return 0;
    q = p + 19;
    if (q + 1 < n && (s[q] == '.' || s[q] == ',') && is_digit(s[q + 1])) {  /* (?:[.,]\d+)? */
        q += 2;
        while (q < n && is_digit(s[q])) q++;
    }
    if (sep == '-' && q < n) {  /* (?:Z|[+-]\d\d:?\d\d)? */
        if (s[q] == 'Z') {
            q++;
        } else if ((s[q] == '+' || s[q] == '-') && all_digits(s, n, q + 1, 2)) {
            if (q + 3 < n && s[q + 3] == ':' && all_digits(s, n, q + 4, 2)) q += 6;
            else if (all_digits(s, n, q + 3, 2)) q += 5;
        }
    }
    *t0 = p, *t1 = q;
    *stop = q < n && s[q] == ']' ? q + 1 : q;
    return 1;
}

static PyObject *plain_line(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    if (!PyUnicode_IS_COMPACT_ASCII(text)) Py_RETURN_NONE;
    bytes_t s = (bytes_t)PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), t0 = 0, t1 = 0, m0 = 0;
    int stamped = leading_time(s, n, &t0, &t1, &m0);
    PyObject *timestamp = Py_None;
    if (stamped) {
        while (m0 < n && (s[m0] == ' ' || s[m0] == '\t' || s[m0] == '-' || s[m0] == '|')) m0++;  /* lstrip(" \t-|") */
        double at = 0.0;
        int timed = text_time(s, t0, t1, &at);
        if (timed == -2) return NULL;
        if (timed != 0 && timed != 1) Py_RETURN_NONE;  /* a time parse_timestamp reads otherwise */
        if (timed == 1 && (timestamp = PyFloat_FromDouble(at)) == NULL) return NULL;
    }
    /* _LEVEL_TOKEN.search(message, 0, 160) */
    Py_ssize_t end = n - m0 < 160 ? n : m0 + 160, l0 = -1, l1 = -1, start = -1;
    for (Py_ssize_t i = m0; i < end && l0 < 0; i++) {
        Py_ssize_t len;
        if (i == m0 && (len = level_word_at(s, i, end)) > 0) {
            start = i, l0 = i, l1 = i + len;
        } else if (level_before(s[i]) && i + 1 < end && (len = level_word_at(s, i + 1, end)) > 0) {
            start = i, l0 = i + 1, l1 = i + 1 + len;
        }
    }
    Py_ssize_t g0 = 0, g1 = 0;
    if (stamped && l0 >= 0 && start - m0 < 3) {
        m0 = l1;  /* message[level end:].lstrip(" \t]:-|") */
        while (m0 < n && (s[m0] == ' ' || s[m0] == '\t' || s[m0] == ']' || s[m0] == ':' || s[m0] == '-'
                          || s[m0] == '|'))
            m0++;
        /* _BRACKETED_ORIGIN: \[([\w.$:/-]{1,120})\] +(?=\S) */
        if (m0 < n && s[m0] == '[') {
            Py_ssize_t q = m0 + 1;
            while (q < n && q - (m0 + 1) <= 120 && (is_word(s[q]) || (s[q] != 0 && strchr(".$:/-", s[q]) != NULL))) q++;
            Py_ssize_t run = q - (m0 + 1);
            if (run >= 1 && run <= 120 && q < n && s[q] == ']' && q + 1 < n && s[q + 1] == ' ') {
                Py_ssize_t r = q + 1;
                while (r < n && s[r] == ' ') r++;
                if (r < n && !is_uspace(s[r])) g0 = m0 + 1, g1 = q, m0 = r;
            }
        }
    }
    return Py_BuildValue("(nnnnnN)", m0, l0, l1, g0, g1, timestamp == Py_None ? Py_NewRef(Py_None) : timestamp);
}

/* ---- The lines that are only counted: PartitionExtractor._feed's fast path ----------
 *
 * count_lines(records, values, stamps, index, flags, key_services, lag, open_services,
 *             announcing, may_continue, slots, (services, starts, values), watermark,
 *             since, width, lateness, calibrate_every) -> (index, watermark, since)
 * (`stamps`: the broker times in seconds, a list of floats or a buffer of doubles)
 *
 * From `index`, counts each record the fast path of partition.py's loop counts, while
 * its service's window is in `slots` (service -> start -> (counters, open until)), and
 * stops at the first record the loop must see (flagged to be parsed by the scan, a key
 * that names no service, a service with no lag yet, a calibration due, a possible frame
 * of an open exception, a window not in `slots`, a time that is not finite), returning
 * its index: the loop runs its own body for it, then calls again. Counting a line is
 * adding one to its window's LINES, or for a late line (its window closed) to the
 * LINES and LATE of the earliest open window, as `WindowAccounts.count_line` does (the
 * sums are added when the call ends); a record flagged as a request also goes on the
 * three lists of requests to read (its service, the start of the window it was counted
 * in, its value), as the loop puts it. The loop's code stays the reference
 * (tests/unit/extract/test_compiled_count.py). */

/* int(at // width) * width, as Python computes it (its float floor division is the
 * exact floor of the quotient; floor(at / width) is too, but for a quotient that a tie
 * rounds up to an integer, which the two tests put right): 0 where |at| is too large
 * to be sure. */
static int window_of(double at, long long width, long long *start) {
    if (!(fabs(at) < 4e15)) return 0;
    long long k = (long long)floor(at / (double)width);
    if ((double)(k * width) > at) k--;  /* the division rounded up to the next integer */
    else if ((double)((k + 1) * width) <= at) k++;
    *start = k * width;
    return 1;
}

/* The JSON warnings count_lines counts (defined with json_warning below). */
static int use_fields(PyObject *fields);
static int warning_read(bytes_t b, Py_ssize_t n, jvalue *values, jvalue *named, request_t *r, int *request,
                        const jvalue **service, const jvalue **when);
static int time_of_value(bytes_t b, const jvalue *when, double *at);

static PyObject *KEY_ATTR, *ONE;
#define LATE_SLOT 3  /* accounts.LATE: the counters are LINES, ERRORS, WARNINGS, LATE, IGNORED */
#define WARNINGS_SLOT 2

/* One service met in a call: its lag, its windows (`slots`' entry) and the window last
 * counted in, with the lines counted there and not yet added to its counters. */
typedef struct {
    PyObject *service, *by_start, *counts;  /* borrowed: held by key_services and slots */
    PyObject *start_key;  /* owned: `start` as an int, for the lists of requests */
    double shift, until;
    long long start, lines, late, warnings;
    signed char open;  /* -1 not looked up yet; 0 no block open; 1 one open; 2 one announcing the next line */
} seen_t;
#define SEEN 64
/* The services met, found by their address (open addressing, at most a quarter full):
 * a batch interleaves many services, and looking through them one by one was a tenth
 * of the counting. */
#define SEEN_SLOTS 256
static inline unsigned seen_slot(PyObject *service) {
    uintptr_t x = (uintptr_t)service >> 4;
    return (unsigned)((x ^ (x >> 8)) & (SEEN_SLOTS - 1));
}

static int add_counts(seen_t *seen) {
    for (int slot = 0; slot < 3; slot++) {
        long long more = slot == 0 ? seen->lines : slot == 1 ? seen->late : seen->warnings;
        Py_ssize_t at = slot == 0 ? 0 : slot == 1 ? LATE_SLOT : WARNINGS_SLOT;
        if (more == 0) continue;
        PyObject *amount = PyLong_FromLongLong(more);
        if (amount == NULL) return -1;
        PyObject *sum = PyNumber_Add(PyList_GET_ITEM(seen->counts, at), amount);
        Py_DECREF(amount);
        if (sum == NULL) return -1;
        PyList_SetItem(seen->counts, at, sum);
    }
    seen->lines = seen->late = seen->warnings = 0;
    return 0;
}

/* The window a line at `at` counts in with the watermark at `mark` (after it): its own
 * while that is open; when late (its window closed), the earliest open one, as
 * WindowAccounts.count_line. 1 late, 0 not, with *own; -1 for a time it cannot place
 * (not finite, or too large to be sure): the loop sees the line. */
static int place(double at, double mark, long long width, double lateness, long long *own) {
    if (!isfinite(at) || !window_of(at, width, own)) return -1;
    int late = (double)(*own + width) + lateness <= mark;
    if (late && !window_of(mark - lateness, width, own)) return -1;
    return late;
}

/* Point `seen` at the counters of its window starting at `own`, from `slots` (the sums
 * so far added to the window it pointed at): 1 when that window is cached and still open
 * at watermark `mark`, 0 when the loop must see the line (a window not met in this
 * batch yet: the loop opens it), -1 on error. */
static int window_open(seen_t *seen, long long own, double mark) {
    if (seen->counts == NULL || seen->start != own) {
        if (seen->by_start == NULL) return 0;
        if (seen->counts != NULL && add_counts(seen) < 0) return -1;
        PyObject *start = PyLong_FromLongLong(own);
        if (start == NULL) return -1;
        PyObject *cached = PyDict_GetItemWithError(seen->by_start, start);
        Py_XSETREF(seen->start_key, start);
        if (cached == NULL) {
            seen->counts = NULL;
            return PyErr_Occurred() ? -1 : 0;
        }
        PyObject *counts = PyTuple_Check(cached) && PyTuple_GET_SIZE(cached) == 2 ? PyTuple_GET_ITEM(cached, 0) : NULL;
        if (counts == NULL || !PyList_Check(counts) || PyList_GET_SIZE(counts) <= LATE_SLOT) {
            seen->counts = NULL;
            return 0;
        }
        double until = PyFloat_AsDouble(PyTuple_GET_ITEM(cached, 1));
        if (until == -1.0 && PyErr_Occurred()) return -1;
        seen->counts = counts, seen->start = own, seen->until = until;
    }
    return seen->until > mark;
}

static int pend_request(PyObject *services, PyObject *starts, PyObject *values, PyObject *service, long long own,
                        PyObject *value, PyObject *known, long long known_start) {
    PyObject *start = known != NULL && known_start == own ? Py_NewRef(known) : PyLong_FromLongLong(own);
    int appended = start != NULL && PyList_Append(services, service) == 0 && PyList_Append(starts, start) == 0
                   && PyList_Append(values, value) == 0;
    Py_XDECREF(start);
    return appended ? 0 : -1;
}

/* Whether prefilter._CONTINUATION_BYTES can match a record (0: it cannot; 1: ask it),
 * from what every match needs: a line header (which starts with "<", a capital, a time
 * with "T" at 10, or holds "| "), else a frame's start (a blank, "#<digit>", "[signal ",
 * "--- ", "{main}", "... ", "at ", "goroutine ", "created by "; a capital is a
 * header's), a call ("name(args)", the line ending in ")"), or a JSON message field. Most lines of a service with an open exception are none of these, and the
 * pattern's ".*" tail cost ~0.4 µs over each. */
static int may_continue_bytes(bytes_t b, Py_ssize_t n) {
    if (n == 0) return 1;
    unsigned char c = b[0];
    if (c == '<' || (c >= 'A' && c <= 'Z') || (is_digit(c) && n > 10 && b[10] == 'T')) return 1;
    if (is_space(c) || (c == '#' && n > 1 && is_digit(b[1]))) return 1;
    static const char *STARTS[] = {"[signal ", "--- ", "{main}", "... ", "at ", "goroutine ", "created by ", NULL};
    for (const char **start = STARTS; *start; start++)
        if (at_exact(b, n, 0, *start, (Py_ssize_t)strlen(*start))) return 1;
    if (is_word(c) || strchr(".$/*()[]-", c) != NULL) {
        Py_ssize_t end = n;
        while (end > 0 && is_space(b[end - 1])) end--;
        if (end > 0 && b[end - 1] == ')') return 1;
    }
    static const char *FIELDS[] = {"\"log", "\"message", "\"msg", "\"MESSAGE", NULL};
    for (Py_ssize_t k = 1; k + 1 < n; k++) {
        if (b[k] == '|' && b[k + 1] == ' ') return 1;
        if (b[k] == '"' && b[k + 1] == ':')
            for (const char **f = FIELDS; *f; f++) {
                Py_ssize_t len = (Py_ssize_t)strlen(*f);
                if (k >= len && memcmp(b + k - len, *f, (size_t)len) == 0) return 1;
            }
    }
    return 0;
}

static PyObject *may_continue(PyObject *self, PyObject *args) {
    const char *raw;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y#", &raw, &n)) return NULL;
    return PyBool_FromLong(may_continue_bytes((bytes_t)raw, n));
}

/* A record flagged to be parsed, of a service known by its key with its lag (`seen`):
 * counted here when it is a JSON warning PartitionExtractor._warning would count (the
 * service has no open block, the record's own fields name that service or none, its
 * window is cached and open), as _warning counts it: its own time if it has a trusted
 * one (which, when not late, sets the service's lag in `lag` to its own time minus its
 * broker time, as a parsed line's does), one line and one
 * warning in its window (late: in the earliest open, and late there), and a request
 * goes on the lists of requests to read, as a counted line's does. 1 counted, 0 the
 * loop must see it (nothing changed), -1 on error. */
static int count_warning(seen_t *seen, PyObject *value, double broker, PyObject *holders, PyObject *lag,
                         Py_ssize_t max_bytes, double skew, long long width, double lateness, double *watermark,
                         PyObject *pending_services, PyObject *pending_starts, PyObject *pending_values) {
    if (!PyBytes_Check(value)) return 0;
    Py_ssize_t n = PyBytes_GET_SIZE(value);
    bytes_t b = (bytes_t)PyBytes_AS_STRING(value);
    if (n == 0 || b[0] != '{' || n > max_bytes || (n >= 8 && memcmp(b, "{\"tick\":", 8) == 0)) return 0;
    int holds = PyDict_Contains(holders, seen->service);
    if (holds != 0) return holds < 0 ? -1 : 0;
    jvalue values[MAX_NAMES], named[MAX_EXTRA];
    request_t r;
    int request = 0;
    const jvalue *service = NULL, *when = NULL;
    if (warning_read(b, n, values, named, &r, &request, &service, &when) != 1) return 0;
    if (service != NULL) {  /* resolve(named, key) must be the key's service: the same name */
        Py_ssize_t s = service->s, e = service->e, size;
        while (s < e && b[s] == ' ') s++;
        while (e > s && b[e - 1] == ' ') e--;
        const char *name = PyUnicode_AsUTF8AndSize(seen->service, &size);
        if (name == NULL) return -1;
        if (size != e - s || memcmp(name, b + s, (size_t)size) != 0) return 0;
    }
    double own_time = 0.0;
    int timed = time_of_value(b, when, &own_time);
    if (timed == -2) return -1;
    if (timed < 0) return 0;
    double at = broker + seen->shift, shift = seen->shift;
    if (timed && own_time <= broker + skew) {
        at = own_time;
        long long own;
        if (!window_of(at, width, &own)) return 0;
        if (!(isfinite(*watermark) && (double)(own + width) + lateness <= *watermark))  /* not late */
            shift = at - broker;
    }
    double mark = at > *watermark ? at : *watermark;
    long long own;
    int late = place(at, mark, width, lateness, &own);
    if (late < 0) return 0;
    int open = window_open(seen, own, mark);
    if (open <= 0) return open;
    if (shift != seen->shift) {
        PyObject *lagged = PyFloat_FromDouble(shift);
        if (lagged == NULL || PyDict_SetItem(lag, seen->service, lagged) < 0) {
            Py_XDECREF(lagged);
            return -1;
        }
        Py_DECREF(lagged);
        seen->shift = shift;
    }
    if (request && pend_request(pending_services, pending_starts, pending_values, seen->service, own, value,
                                seen->start_key, seen->start) < 0)
        return -1;
    seen->lines++;
    seen->late += late;
    seen->warnings++;
    *watermark = mark;
    return 1;
}

static PyObject *count_lines(PyObject *self, PyObject *args) {
    PyObject *records, *values, *stamps, *flags, *key_services, *lag, *open_services, *announcing;
    PyObject *continues, *slots, *pending_services, *pending_starts, *pending_values, *warn = Py_None;
    Py_ssize_t index, calibrate;
    long long since, width;
    double watermark, lateness;
    if (!PyArg_ParseTuple(args, "O!O!OnO!O!O!OOOO!(O!O!O!)dLLdn|O", &PyList_Type, &records, &PyList_Type, &values,
                          &stamps, &index, &PyByteArray_Type, &flags, &PyDict_Type, &key_services,
                          &PyDict_Type, &lag, &open_services, &announcing, &continues, &PyDict_Type, &slots,
                          &PyList_Type, &pending_services, &PyList_Type, &pending_starts, &PyList_Type,
                          &pending_values, &watermark, &since, &width, &lateness, &calibrate, &warn))
        return NULL;
    /* JSON warnings too, when `warn` is (holders, service_fields, max_line_bytes, max_future_skew_s) */
    PyObject *holders = NULL;
    Py_ssize_t max_bytes = 0;
    double skew = 0.0;
    if (warn != Py_None) {
        PyObject *fields;
        if (!PyArg_ParseTuple(warn, "O!Ond", &PyDict_Type, &holders, &fields, &max_bytes, &skew)) return NULL;
        int usable = use_fields(fields);
        if (usable < 0) return NULL;
        if (!usable) holders = NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(records);
    /* the broker times: a list of floats, or doubles in a buffer (values_and_stamps') */
    Py_buffer view = {0};
    const double *packed = NULL;
    Py_ssize_t stamps_size;
    if (PyList_Check(stamps)) {
        stamps_size = PyList_GET_SIZE(stamps);
    } else {
        if (PyObject_GetBuffer(stamps, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
        if (view.itemsize != sizeof(double) || view.format == NULL || strcmp(view.format, "d") != 0) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_TypeError, "count_lines: stamps are a list of floats or a buffer of doubles");
            return NULL;
        }
        packed = (const double *)view.buf;
        stamps_size = view.len / (Py_ssize_t)sizeof(double);
    }
    if (PyList_GET_SIZE(values) < count || stamps_size < count || PyByteArray_GET_SIZE(flags) < count
        || width <= 0) {
        if (packed != NULL) PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "count_lines: values, stamps and flags must cover the records");
        return NULL;
    }
    const char *flag = PyByteArray_AS_STRING(flags);
    int any_open = PyObject_IsTrue(open_services), known = 0;
    seen_t seen[SEEN];
    unsigned char where[SEEN_SLOTS] = {0};  /* by seen_slot(service): its index in `seen` + 1, 0 for none */
    if (any_open < 0) goto fail;
    for (; index < count; index++) {
        int parse = flag[index] & 1;  /* to be parsed, unless it is a JSON warning counted below */
        if (parse && holders == NULL) break;
        PyObject *key = PyObject_GetAttr(PyList_GET_ITEM(records, index), KEY_ATTR);
        if (key == NULL) goto fail;
        PyObject *service = key == Py_None ? NULL : PyDict_GetItemWithError(key_services, key);
        Py_DECREF(key);
        if (service == NULL) {
            if (PyErr_Occurred()) goto fail;
            break;
        }
        if (!PyUnicode_Check(service) || PyUnicode_GET_LENGTH(service) == 0) break;
        seen_t *at_service = NULL;
        unsigned slot = seen_slot(service);
        for (; where[slot]; slot = (slot + 1) & (SEEN_SLOTS - 1))
            if (seen[where[slot] - 1].service == service) {
                at_service = &seen[where[slot] - 1];
                break;
            }
        if (at_service == NULL) {
            PyObject *lag_of = PyDict_GetItemWithError(lag, service);
            if (lag_of == NULL) {
                if (PyErr_Occurred()) goto fail;
                break;  /* its lag is not known yet: the line is parsed */
            }
            if (known == SEEN) break;
            double shift = PyFloat_AsDouble(lag_of);
            if (shift == -1.0 && PyErr_Occurred()) goto fail;
            PyObject *by_start = PyDict_GetItemWithError(slots, service);
            if (by_start == NULL && PyErr_Occurred()) goto fail;
            at_service = &seen[known++];
            where[slot] = (unsigned char)known;  /* the empty slot the look ended at */
            *at_service = (seen_t){service, by_start != NULL && PyDict_Check(by_start) ? by_start : NULL, NULL, NULL,
                                   shift, 0.0, 0, 0, 0, 0, -1};
        }
        PyObject *value = PyList_GET_ITEM(values, index);
        if (parse) {
            double broker = packed != NULL ? packed[index] : PyFloat_AsDouble(PyList_GET_ITEM(stamps, index));
            if (broker == -1.0 && PyErr_Occurred()) goto fail;
            int counted = count_warning(at_service, value, broker, holders, lag, max_bytes,
                                        skew, width, lateness, &watermark, pending_services, pending_starts,
                                        pending_values);
            if (counted < 0) goto fail;
            if (!counted) break;
            since = 0;  /* as after a parsed line */
            continue;
        }
        if (since + 1 >= calibrate) break;
        if (any_open) {
            if (at_service->open < 0) {  /* looked up once a call: nothing opens or closes a block meanwhile */
                int open = PySequence_Contains(open_services, service);
                int told = open > 0 ? PySequence_Contains(announcing, service) : 0;
                if (open < 0 || told < 0) goto fail;
                at_service->open = (signed char)(open + told);
            }
            if (at_service->open) {
                if (at_service->open == 2) break;  /* its block's last line announced the next */
                int frame = 0;
                if (!PyBytes_Check(value)
                    || may_continue_bytes((bytes_t)PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))) {
                    PyObject *match = PyObject_CallOneArg(continues, value);
                    if (match == NULL) goto fail;
                    frame = PyObject_IsTrue(match);
                    Py_DECREF(match);
                }
                if (frame) {
                    if (frame < 0) goto fail;
                    break;
                }
            }
        }
        double stamp = packed != NULL ? packed[index] : PyFloat_AsDouble(PyList_GET_ITEM(stamps, index));
        if (stamp == -1.0 && PyErr_Occurred()) goto fail;
        double at = stamp + at_service->shift;
        double mark = at > watermark ? at : watermark;
        long long own;
        int late = place(at, mark, width, lateness, &own);
        if (late < 0) break;
        int open = window_open(at_service, own, mark);
        if (open < 0) goto fail;
        if (!open) break;
        at_service->lines++;
        at_service->late += late;
        if ((flag[index] & 2)
            && pend_request(pending_services, pending_starts, pending_values, service, own, value,
                            at_service->start_key, at_service->start) < 0)
            goto fail;  /* a request: read after the loop */
        watermark = mark;
        since++;
    }
    int failed = 0;
    for (int k = 0; k < known; k++) {
        if (seen[k].counts != NULL && !failed && add_counts(&seen[k]) < 0) failed = 1;
        Py_CLEAR(seen[k].start_key);
    }
    if (packed != NULL) PyBuffer_Release(&view);
    return failed ? NULL : Py_BuildValue("(ndL)", index, watermark, since);
fail:
    if (packed != NULL) PyBuffer_Release(&view);
    for (int k = 0; k < known; k++) {  /* what was counted stays counted */
        if (seen[k].counts != NULL) {
            PyObject *type, *error, *trace;
            PyErr_Fetch(&type, &error, &trace);
            add_counts(&seen[k]);
            PyErr_Restore(type, error, trace);
        }
        Py_CLEAR(seen[k].start_key);
    }
    return NULL;
}

/* The windows a call met: a service (by identity, held by the list) and a start. */
typedef struct {
    PyObject *service;
    long long start;
    PyObject *window;  /* borrowed: held by the call's result */
} window_met_t;
#define WINDOWS_MET 128

/* Routes made before, kept for the next (a route's text recurs line after line): a str
 * made once keeps its hash, so each later count is one lookup. Direct-mapped by a hash
 * of the route's bytes; a slot taken by another route is replaced. */
#define ROUTES_KEPT 1024
static PyObject *ROUTES[ROUTES_KEPT];

static PyObject *route_text(const char *route, Py_ssize_t length) {
    uint64_t hash = 1469598103934665603ULL;  /* FNV-1a */
    for (Py_ssize_t k = 0; k < length; k++) hash = (hash ^ (unsigned char)route[k]) * 1099511628211ULL;
    PyObject **slot = &ROUTES[hash % ROUTES_KEPT];
    if (*slot != NULL && PyUnicode_GET_LENGTH(*slot) == length
        && memcmp(PyUnicode_DATA(*slot), route, (size_t)length) == 0)
        return Py_NewRef(*slot);
    PyObject *text = PyUnicode_FromStringAndSize(route, length);
    if (text != NULL && PyUnicode_IS_COMPACT_ASCII(text)) Py_XSETREF(*slot, Py_NewRef(text));
    return text;
}

/* ---- The routes of the lines that are only counted: PartitionExtractor._count_requests
 *
 * tally_requests(services, starts, values, read, route) -> {(service, start): {route:
 * [requests, failed]}}, the windows in the order their first request came, each
 * window's routes too: what _count_requests adds up, from the three lists it keeps (a
 * line's service, the start of the window it was counted in, its raw value). Each value
 * is read as `requests` reads it, and `read` (formats.request_of_record) reads those it
 * leaves; each route normalised as `routes` does, and `route`
 * (findings.normalise_endpoint) the others. The Python method stays the reference
 * (tests/unit/extract/test_compiled_count.py). */
static PyObject *tally_requests(PyObject *self, PyObject *args) {
    PyObject *services, *starts, *values, *read, *route;
    if (!PyArg_ParseTuple(args, "O!O!O!OO", &PyList_Type, &services, &PyList_Type, &starts, &PyList_Type, &values,
                          &read, &route))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(values);
    if (PyList_GET_SIZE(services) != count || PyList_GET_SIZE(starts) != count) {
        PyErr_SetString(PyExc_ValueError, "tally_requests: three lists of one length");
        return NULL;
    }
    PyObject *out = PyDict_New(), *window = NULL;
    if (out == NULL) return NULL;
    window_met_t met[WINDOWS_MET];
    int windows_met = 0, last_met = 0;
    char buffer[ROUTE_BUFFER];
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyList_GET_ITEM(values, i), *name = NULL, *method = NULL, *target = NULL;
        if (!PyBytes_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "tally_requests: values are bytes");
            goto fail;
        }
        bytes_t b = (bytes_t)PyBytes_AS_STRING(value);
        request_t r;
        long status;
        Py_ssize_t length = -1;
        if (request_spans(b, PyBytes_GET_SIZE(value), 1, &r)) {
            status = r.status;
            if (!status || (r.m1 == r.m0 && r.t1 == r.t0)) continue;  /* not a request */
            length = route_into((const char *)b + r.m0, r.m1 - r.m0, (const char *)b + r.t0, r.t1 - r.t0, buffer);
            if (length < 0) {
                method = span_text(b, r.m0, r.m1, 1);
                target = span_text(b, r.t0, r.t1, 0);
                if (method == NULL || target == NULL) goto fail_line;
            }
        } else {
            PyObject *found = PyObject_CallOneArg(read, value);
            if (found == NULL) goto fail;
            if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3) {
                Py_DECREF(found);
                PyErr_SetString(PyExc_TypeError, "tally_requests: read gives (method, target, status)");
                goto fail;
            }
            method = PyTuple_GET_ITEM(found, 0), target = PyTuple_GET_ITEM(found, 1);
            status = PyLong_AsLong(PyTuple_GET_ITEM(found, 2));
            int truth = status == -1 && PyErr_Occurred() ? -1
                        : !status ? 0 : (PyObject_IsTrue(method) || PyObject_IsTrue(target));
            Py_INCREF(method);
            Py_INCREF(target);
            Py_DECREF(found);
            if (truth < 0) goto fail_line;
            if (!truth) {
                Py_DECREF(method);
                Py_DECREF(target);
                continue;
            }
        }
        name = length >= 0 ? route_text(buffer, length) : PyObject_CallFunctionObjArgs(route, method, target, NULL);
        Py_CLEAR(method);
        Py_CLEAR(target);
        if (name == NULL) goto fail;
        PyObject *service = PyList_GET_ITEM(services, i), *start = PyList_GET_ITEM(starts, i);
        long long start_at = PyLong_AsLongLong(start);
        if (start_at == -1 && PyErr_Occurred()) goto fail_name;
        /* the window's dict: met before in this call (by the service's identity and the
         * start's value), or looked up (and made) under (service, start) */
        window = NULL;
        for (int k = 0; k < windows_met && window == NULL; k++) {
            int at = (last_met + k) % windows_met;
            if (met[at].service == service && met[at].start == start_at) window = met[at].window, last_met = at;
        }
        if (window == NULL) {
            PyObject *key = PyTuple_Pack(2, service, start);
            if (key == NULL) goto fail_name;
            window = PyDict_GetItemWithError(out, key);
            if (window == NULL) {
                if (PyErr_Occurred() || (window = PyDict_New()) == NULL) {
                    Py_DECREF(key);
                    goto fail_name;
                }
                int added = PyDict_SetItem(out, key, window);
                Py_DECREF(window);  /* `out` holds it */
                if (added < 0) {
                    Py_DECREF(key);
                    goto fail_name;
                }
            }
            Py_DECREF(key);
            if (windows_met < WINDOWS_MET) {
                met[windows_met] = (window_met_t){service, start_at, window};
                last_met = windows_met++;
            }
        }
        PyObject *counts = PyDict_GetItemWithError(window, name);
        if (counts == NULL) {
            if (PyErr_Occurred()) goto fail_name;
            counts = Py_BuildValue("[ii]", 1, status >= 500);
            if (counts == NULL) goto fail_name;
            int added = PyDict_SetItem(window, name, counts);
            Py_DECREF(counts);
            if (added < 0) goto fail_name;
        } else {
            for (int slot = 0; slot < 1 + (status >= 500); slot++) {
                PyObject *sum = PyNumber_Add(PyList_GET_ITEM(counts, slot), ONE);
                if (sum == NULL) goto fail_name;
                PyList_SetItem(counts, slot, sum);
            }
        }
        Py_DECREF(name);
        continue;
    fail_name:
        Py_DECREF(name);
        goto fail;
    fail_line:
        Py_XDECREF(method);
        Py_XDECREF(target);
        goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* ---- JSON warnings: PartitionExtractor._warning's reading of a record ----------------
 *
 * json_warning(value, service_fields) -> (route or None, status, service named, time
 * value) for a flat JSON record whose level is a warning and whose status is not a
 * server error; False for a flat record that is not such a warning; None where Python
 * decides. The service named is field_service's answer (the first of `service_fields`
 * holding a non-blank string, stripped; a record with bunyan's "v" is left to Python),
 * the time value what json_time parses (`_first` of formats._TIME), the route
 * normalise_endpoint's for a request. partition._warning_fields is the reference
 * (tests/unit/extract/test_compiled_json_requests.py). */

/* normalise_level(value) == "warning": 1, 0, or -1 where Python decides. */
static int level_is_warning(bytes_t b, const jvalue *v) {
    if (v == NULL || v->type == V_BOOL) return 0;
    long long number = v->number;
    if (v->type == V_STRING) {
        Py_ssize_t s = v->s, e = v->e;
        while (s < e && b[s] == ' ') s++;
        while (e > s && b[e - 1] == ' ') e--;
        int digits = s < e;
        for (Py_ssize_t k = s; digits && k < e; k++) digits = is_digit(b[k]);
        if (!digits)
            return (e - s == 1 && LOWER[b[s]] == 'w') || (e - s == 4 && at_lower(b, e, s, "warn", 4))
                   || (e - s == 7 && at_lower(b, e, s, "warning", 7));
        if (e - s > 18) return -1;
        for (number = 0; s < e; s++) number = number * 10 + (b[s] - '0');
    } else if (v->type != V_INT) {
        return -1;
    }
    return number >= 10 ? number >= 40 && number <= 49 : number == 4;  /* pino/bunyan, or syslog */
}

static PyObject *FIELDS_SEEN;  /* the service_fields of the last call, and their names */
static names_t FIELDS_NAMES;

/* The names of `fields` (a config's service_fields) for json_object: 1, 0 where Python
 * decides (not a list of at most MAX_EXTRA strings), -1 on error. */
static int use_fields(PyObject *fields) {
    if (fields == FIELDS_SEEN) return 1;  /* a config's list: read again when another one comes, never changed in place */
    if (!PyList_Check(fields) && !PyTuple_Check(fields)) return 0;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fields);
    if (count > MAX_EXTRA) return 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *name = PySequence_Fast_GET_ITEM(fields, k);
        if (!PyUnicode_Check(name)) return 0;
        FIELDS_NAMES.names[k] = PyUnicode_AsUTF8AndSize(name, &FIELDS_NAMES.lens[k]);
        if (FIELDS_NAMES.names[k] == NULL) return -1;
    }
    FIELDS_NAMES.count = (int)count;
    Py_INCREF(fields);  /* held: the names point into its strings */
    Py_XSETREF(FIELDS_SEEN, fields);
    return 1;
}

/* What json_warning reads of a record: 1 a warning that is no server error (its request
 * fields in *r, *request when it is one, the service field's value in *service or NULL,
 * the time field's in *when or NULL), 0 anything else, -1 where Python decides.
 * `values` and `named` hold what the pointers point into. */
static int warning_read(bytes_t b, Py_ssize_t n, jvalue *values, jvalue *named, request_t *r, int *request,
                        const jvalue **service, const jvalue **when) {
    if (!json_object(b, n, values, &FIELDS_NAMES, named)) return -1;
    int warning = level_is_warning(b, first_of(values, F_LEVEL));
    if (warning <= 0) return warning;
    if (!request_fields_of(b, values, r)) return -1;
    if (r->status >= 500) return 0;  /* a server error whatever its level says */
    *service = NULL;
    for (int k = 0; k < FIELDS_NAMES.count && *service == NULL; k++) {
        const jvalue *v = &named[k];
        if (v->type == V_ESCAPED) return -1;
        if (v->type != V_STRING) continue;
        Py_ssize_t s = v->s, e = v->e;
        while (s < e && b[s] == ' ') s++;
        if (s < e) *service = v;
    }
    if (*service == NULL && first_of(values, F_BUNYAN) != NULL) return -1;
    *when = first_of(values, F_TIME);
    if (*when != NULL && (*when)->type == V_ESCAPED) return -1;
    *request = r->status && (r->m1 > r->m0 || r->t1 > r->t0);
    return 1;
}

static PyObject *json_warning(PyObject *self, PyObject *args) {
    const char *raw;
    Py_ssize_t n;
    PyObject *fields;
    if (!PyArg_ParseTuple(args, "y#O", &raw, &n, &fields)) return NULL;
    int usable = use_fields(fields);
    if (usable < 0) return NULL;
    if (!usable) Py_RETURN_NONE;
    bytes_t b = (bytes_t)raw;
    jvalue values[MAX_NAMES], named[MAX_EXTRA];
    request_t r;
    int request = 0;
    const jvalue *service = NULL, *when = NULL;
    int read = warning_read(b, n, values, named, &r, &request, &service, &when);
    if (read < 0) Py_RETURN_NONE;
    if (read == 0) Py_RETURN_FALSE;
    char buffer[ROUTE_BUFFER];
    Py_ssize_t length = 0;
    if (request) {
        length = route_into((const char *)b + r.m0, r.m1 - r.m0, (const char *)b + r.t0, r.t1 - r.t0, buffer);
        if (length < 0) Py_RETURN_NONE;
    }
    PyObject *route = request ? PyUnicode_FromStringAndSize(buffer, length) : Py_NewRef(Py_None);
    PyObject *name;
    if (service == NULL) {
        name = PyUnicode_FromStringAndSize("", 0);
    } else {
        Py_ssize_t s = service->s, e = service->e;
        while (s < e && b[s] == ' ') s++;
        while (e > s && b[e - 1] == ' ') e--;
        name = span_text(b, s, e, 0);
    }
    PyObject *time;
    if (when == NULL) {
        time = Py_NewRef(Py_None);
    } else if (when->type == V_STRING) {
        time = span_text(b, when->s, when->e, 0);
    } else if (when->type == V_BOOL) {
        time = PyBool_FromLong((long)when->number);
    } else {  /* a number: at most 18 digits and a sign and a point */
        char digits[32];
        Py_ssize_t size = when->e - when->s;
        memcpy(digits, b + when->s, (size_t)size);
        digits[size] = 0;
        time = when->type == V_INT ? PyLong_FromString(digits, NULL, 10)
                                   : PyFloat_FromDouble(PyOS_string_to_double(digits, NULL, NULL));
        if (time == NULL || PyErr_Occurred()) Py_CLEAR(time);
    }
    return Py_BuildValue("(NlNN)", route, r.status, name, time);
}

/* timestamps._from_number: epoch seconds from s, ms, us or ns; 0 for none. */
static int from_number(double number, double *out) {
    if (!(number > 0)) return 0;
    static const double divisors[4] = {1.0, 1e3, 1e6, 1e9};
    for (int k = 0; k < 4; k++)
        if (number / divisors[k] < 1e11) {
            *out = number / divisors[k];
            return 1;
        }
    return 0;
}

/* parse_timestamp(value, reference) of a JSON time field's value as warning_read found
 * it (`when`; NULL: none): 1 with *at, 0 for None, -1 where Python decides (a string in
 * a format other than ISO 8601 or the access log's, a month it does not know), -2 on error. */
static int time_of_value(bytes_t b, const jvalue *when, double *at) {
    if (when == NULL || when->type == V_BOOL || when->type == V_NULL) return 0;
    char digits[32];
    if (when->type == V_INT || when->type == V_FRACTION) {
        Py_ssize_t size = when->e - when->s;
        if (size <= 0 || size >= (Py_ssize_t)sizeof(digits)) return -1;
        memcpy(digits, b + when->s, (size_t)size);
        digits[size] = 0;
        double number = PyOS_string_to_double(digits, NULL, NULL);
        if (number == -1.0 && PyErr_Occurred()) return -2;
        return from_number(number, at);
    }
    if (when->type != V_STRING) return -1;
    Py_ssize_t lo = when->s, hi = when->e;  /* value.strip() */
    while (lo < hi && is_uspace(b[lo])) lo++;
    while (hi > lo && is_uspace(b[hi - 1])) hi--;
    if (hi == lo) return 0;
    int timed = text_time(b, lo, hi, at);
    if (timed != 2) return timed;
    if (hi - lo >= (Py_ssize_t)sizeof(digits)) return -1;  /* a number in a string */
    memcpy(digits, b + lo, (size_t)(hi - lo));
    digits[hi - lo] = 0;
    double value = PyOS_string_to_double(digits, NULL, NULL);
    if (value == -1.0 && PyErr_Occurred()) return -2;
    return from_number(value, at);
}

/* (values, stamps, tombstones) of fetched records: each one's value, and its broker
 * time in seconds (timestamp / 1000.0), as the two list comprehensions of
 * PartitionExtractor.feed_records make them, and whether a value is None. The times
 * come packed, as C doubles in one bytes object (the caller reads them through
 * memoryview.cast("d")): count_lines reads most of them, Python a few, and a float
 * object for each line of a batch cost more than the reading. */
static PyObject *VALUE_ATTR, *TIMESTAMP_ATTR, *THOUSAND;

/* float(timestamp) of an int: by way of a C integer where it fits (no rounding below
 * 2**53, and C rounds the rest to nearest as Python does), which costs far less than
 * PyLong_AsDouble's general path for a 41-bit number of milliseconds. */
static double milliseconds(PyObject *timestamp) {
    int overflow = 0;
    long long ms = PyLong_AsLongLongAndOverflow(timestamp, &overflow);
    return overflow ? PyLong_AsDouble(timestamp) : (double)ms;
}

static PyObject *values_and_stamps(PyObject *self, PyObject *args) {
    PyObject *records;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &records)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(records);
    PyObject *values = PyList_New(count), *stamps = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(double));
    int tombstones = 0;
    if (values == NULL || stamps == NULL) goto fail;
    double *packed = (double *)PyBytes_AS_STRING(stamps);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *record = PyList_GET_ITEM(records, i);
        PyObject *value = PyObject_GetAttr(record, VALUE_ATTR);
        if (value == NULL) goto fail;
        tombstones |= value == Py_None;
        PyList_SET_ITEM(values, i, value);
        PyObject *timestamp = PyObject_GetAttr(record, TIMESTAMP_ATTR);
        if (timestamp == NULL) goto fail;
        if (PyLong_CheckExact(timestamp)) {
            packed[i] = milliseconds(timestamp) / 1000.0;
            Py_DECREF(timestamp);
        } else {
            PyObject *stamp = PyNumber_TrueDivide(timestamp, THOUSAND);
            Py_DECREF(timestamp);
            packed[i] = stamp == NULL ? -1.0 : PyFloat_AsDouble(stamp);
            Py_XDECREF(stamp);
        }
        if (PyErr_Occurred()) goto fail;
    }
    return Py_BuildValue("(NNO)", values, stamps, tombstones ? Py_True : Py_False);
fail:
    Py_XDECREF(values);
    Py_XDECREF(stamps);
    return NULL;
}


/* ---- Redaction's plan: redact._plan
 *
 * redact_setup(guards, words, entries, numeric_bit, token_bit) once, from redact.py's
 * tables: guards [(piece, look in the lower-cased text, rules mask)], words [(piece,
 * entries mask)], entries [(has words, gate name)]. redact_plan(text) -> (rules,
 * personal) for an ASCII str (None for any other): the OR of the masks of the guard
 * pieces found, and for each personal entry j, bit j when its words (if it has any)
 * and its gate hold; the numeric bit for seven digits close together (`_SOME_DIGITS`),
 * the token bit for 32 characters of a key in a row (`_TOKEN_GATE`). Each gate below is
 * the byte test its pattern in redact._GATES amounts to (tests/unit/test_redaction_plan.py). */

#define MAX_PIECES 128
#define MAX_ENTRIES 30
typedef struct {
    const char *text;
    Py_ssize_t len;
    int lower;
    unsigned long long mask;
} piece_t;
static piece_t GUARDS[MAX_PIECES], WORDS[MAX_PIECES];
static int GUARD_COUNT = -1, WORD_COUNT, ENTRY_COUNT;
static int ENTRY_WORDS[MAX_ENTRIES], ENTRY_GATE[MAX_ENTRIES];
static unsigned long long NUMERIC_BIT, TOKEN_BIT;
static PyObject *PLAN_TABLES;  /* held: the pieces point into its strings */
enum { G_NONE, G_IBAN, G_CARD, G_SSN, G_NI, G_INTL, G_NANP, G_TRUNK0 };
static const char *GATE_NAMES[] = {"", "iban", "card", "ssn", "ni_number", "intl", "nanp", "trunk0", NULL};

static void index_pieces(void);

static int read_pieces(PyObject *list, piece_t *out, int *count, int with_lower) {
    if (!PyList_Check(list) || PyList_GET_SIZE(list) > MAX_PIECES) {
        PyErr_SetString(PyExc_ValueError, "redact_setup: too many pieces");
        return -1;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); k++) {
        PyObject *item = PyList_GET_ITEM(list, k), *piece, *mask;
        int lower = 1;
        if (with_lower ? !PyArg_ParseTuple(item, "UpO", &piece, &lower, &mask)
                       : !PyArg_ParseTuple(item, "UO", &piece, &mask))
            return -1;
        out[k].text = PyUnicode_AsUTF8AndSize(piece, &out[k].len);
        out[k].mask = PyLong_AsUnsignedLongLong(mask);
        out[k].lower = lower;
        if (out[k].text == NULL || PyErr_Occurred()) return -1;
        if (out[k].len == 0 || !PyUnicode_IS_ASCII(piece)) {
            PyErr_SetString(PyExc_ValueError, "redact_setup: pieces are ASCII and not empty");
            return -1;
        }
    }
    *count = (int)PyList_GET_SIZE(list);
    return 0;
}

static PyObject *redact_setup(PyObject *self, PyObject *args) {
    PyObject *guards, *words, *entries;
    unsigned long long numeric_bit, token_bit;
    if (!PyArg_ParseTuple(args, "O!O!O!KK", &PyList_Type, &guards, &PyList_Type, &words, &PyList_Type, &entries,
                          &numeric_bit, &token_bit))
        return NULL;
    GUARD_COUNT = -1;
    if (PyList_GET_SIZE(entries) > MAX_ENTRIES) {
        PyErr_SetString(PyExc_ValueError, "redact_setup: too many entries");
        return NULL;
    }
    if (read_pieces(guards, GUARDS, &GUARD_COUNT, 1) < 0 || read_pieces(words, WORDS, &WORD_COUNT, 0) < 0) {
        GUARD_COUNT = -1;
        return NULL;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(entries); k++) {
        int has_words;
        const char *gate;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(entries, k), "ps", &has_words, &gate)) {
            GUARD_COUNT = -1;
            return NULL;
        }
        int found = -1;
        for (int g = 0; GATE_NAMES[g] != NULL; g++)
            if (strcmp(GATE_NAMES[g], gate) == 0) found = g;
        if (found < 0) {
            GUARD_COUNT = -1;
            PyErr_Format(PyExc_ValueError, "redact_setup: no gate named %s", gate);
            return NULL;
        }
        ENTRY_WORDS[k] = has_words, ENTRY_GATE[k] = found;
    }
    ENTRY_COUNT = (int)PyList_GET_SIZE(entries);
    NUMERIC_BIT = numeric_bit, TOKEN_BIT = token_bit;
    index_pieces();
    Py_XSETREF(PLAN_TABLES, Py_BuildValue("(OOO)", guards, words, entries));
    if (PLAN_TABLES == NULL) GUARD_COUNT = -1;
    return PLAN_TABLES == NULL ? NULL : Py_NewRef(Py_None);
}

/* The pieces by their first byte (lower-case for those looked for in the lower-cased
 * text): one pass over the text tries at each byte only the pieces that start with it. */
static short BY_FIRST[2][256][MAX_PIECES + 1];  /* [guards, words][byte]: indices, -1 ends */

static void index_pieces(void) {
    for (int table = 0; table < 2; table++) {
        const piece_t *pieces = table ? WORDS : GUARDS;
        int count = table ? WORD_COUNT : GUARD_COUNT;
        for (int c = 0; c < 256; c++) {
            int used = 0;
            for (int k = 0; k < count; k++)
                if ((unsigned char)pieces[k].text[0] == (pieces[k].lower ? LOWER[c] : c))
                    BY_FIRST[table][c][used++] = (short)k;
            BY_FIRST[table][c][used] = -1;
        }
    }
}

static inline int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline int is_token(unsigned char c) {
    return is_digit(c) || is_alpha(c) || c == '+' || c == '/' || c == '_' || c == '=' || c == '-';
}
static inline int in_any(unsigned char c, const char *set) { return c != 0 && strchr(set, c) != NULL; }

/* The gates of redact._GATES, as byte tests on the text (the shape maps ASCII digits to
 * "0" and capitals to "A"). */
static int gate_holds(int gate, bytes_t b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        switch (gate) {
        case G_IBAN:  /* AA00 */
            if (i + 4 <= n && is_upper(b[i]) && is_upper(b[i + 1]) && is_digit(b[i + 2]) && is_digit(b[i + 3]))
                return 1;
            break;
        case G_NI:  /* AA00, AA 00 */
            if (i + 4 <= n && is_upper(b[i]) && is_upper(b[i + 1])
                && ((is_digit(b[i + 2]) && is_digit(b[i + 3]))
                    || (i + 5 <= n && b[i + 2] == ' ' && is_digit(b[i + 3]) && is_digit(b[i + 4]))))
                return 1;
            break;
        case G_SSN:  /* 000-00-0000 */
            if (i + 11 <= n && all_digits(b, n, i, 3) && b[i + 3] == '-' && all_digits(b, n, i + 4, 2)
                && b[i + 6] == '-' && all_digits(b, n, i + 7, 4))
                return 1;
            break;
        case G_CARD: {  /* 0(?:[ -]?0){12} */
            if (!is_digit(b[i])) break;
            Py_ssize_t p = i + 1;
            int more = 0;
            while (more < 12) {
                if (p < n && is_digit(b[p])) p += 1;
                else if (p + 1 < n && (b[p] == ' ' || b[p] == '-') && is_digit(b[p + 1])) p += 2;
                else break;
                more++;
            }
            if (more == 12) return 1;
            break;
        }
        case G_INTL:  /* \+[1-9] */
            if (i + 2 <= n && b[i] == '+' && b[i + 1] >= '1' && b[i + 1] <= '9') return 1;
            break;
        case G_NANP: {  /* 0(?:\) ?|[ .-])000[ .-]0000 */
            if (!is_digit(b[i]) || i + 1 >= n) break;
            Py_ssize_t p;
            if (b[i + 1] == ')') p = i + 2 < n && b[i + 2] == ' ' ? i + 3 : i + 2;
            else if (in_any(b[i + 1], " .-")) p = i + 2;
            else break;
            if (p + 8 <= n && all_digits(b, n, p, 3) && in_any(b[p + 3], " .-") && all_digits(b, n, p + 4, 4))
                return 1;
            break;
        }
        case G_TRUNK0: {  /* 0[1-9][\d -]{9}, in the text */
            if (b[i] != '0' || i + 11 > n || b[i + 1] < '1' || b[i + 1] > '9') break;
            int ok = 1;
            for (Py_ssize_t k = i + 2; ok && k < i + 11; k++) ok = is_digit(b[k]) || b[k] == ' ' || b[k] == '-';
            if (ok) return 1;
            break;
        }
        default:
            return 1;
        }
    }
    return 0;
}

static PyObject *redact_plan(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "O", &text)) return NULL;
    if (GUARD_COUNT < 0) {
        PyErr_SetString(PyExc_RuntimeError, "redact_plan: redact_setup was not called");
        return NULL;
    }
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) Py_RETURN_NONE;
    bytes_t b = (bytes_t)PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    unsigned char small[4096], *lowered = n <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)n);
    if (lowered == NULL) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) lowered[i] = LOWER[b[i]];
    unsigned long long rules = 0, words = 0, personal = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* a lower-case piece starts where the lower-cased text has its first byte, an exact
         * one where the text has it: both are listed under the text's byte */
        for (int table = 0; table < 2; table++) {
            const piece_t *pieces = table ? WORDS : GUARDS;
            unsigned long long *found = table ? &words : &rules;
            for (const short *k = BY_FIRST[table][b[i]]; *k >= 0; k++) {
                const piece_t *piece = &pieces[*k];
                if ((*found & piece->mask) == piece->mask || i + piece->len > n) continue;
                if (memcmp((piece->lower ? lowered : b) + i, piece->text, (size_t)piece->len) == 0)
                    *found |= piece->mask;
            }
        }
    }
    if (lowered != small) PyMem_Free(lowered);
    for (int j = 0; j < ENTRY_COUNT; j++)
        if ((!ENTRY_WORDS[j] || n == 0 || (words >> j & 1)) && (ENTRY_GATE[j] == G_NONE || gate_holds(ENTRY_GATE[j], b, n)))
            personal |= 1ULL << j;
    /* `_SOME_DIGITS`: seven digits, each after at most three others that are no digit and no line break */
    int run = 0, gap = 0, numeric = 0;
    for (Py_ssize_t i = 0; i < n && !numeric; i++) {
        if (is_digit(b[i])) {
            run = run > 0 && gap <= 3 ? run + 1 : 1;
            gap = 0;
            numeric = run >= 7;
        } else if (b[i] == '\n') {
            run = 0;
        } else {
            gap++;
        }
    }
    if (numeric) personal |= NUMERIC_BIT;
    int token = 0;
    for (Py_ssize_t i = 0; i < n && token < 32; i++) token = is_token(b[i]) ? token + 1 : 0;
    if (token >= 32) personal |= TOKEN_BIT;
    return Py_BuildValue("(KK)", rules, personal);
}

static PyMethodDef methods[] = {
    {"scan_batch", scan_batch, METH_VARARGS,
     "scan_batch(values: list[bytes], max_bytes: int) -> (set of indices to parse, list of request indices)"},
    {"scan_flags", scan_flags, METH_VARARGS, "scan_flags(values: list[bytes], max_bytes: int) -> bytearray"},
    {"access_requests", access_requests, METH_VARARGS,
     "access_requests(values: list[bytes]) -> [(method, target, status) or None]"},
    {"requests", requests, METH_VARARGS,
     "requests(values: list[bytes]) -> [(method, target, status) or None]: access lines and flat JSON records"},
    {"json_fields", json_fields, METH_NOARGS, "the names of the JSON request fields, in formats.py's order"},
    {"level_words", level_words, METH_NOARGS, "the level words of formats._LEVEL_WORDS"},
    {"routes", routes, METH_VARARGS, "routes(pairs: list[tuple[str, str]]) -> [route or None]"},
    {"tally_requests", tally_requests, METH_VARARGS,
     "tally_requests(services, starts, values, read, route) -> {(service, start): {route: [requests, failed]}}"},
    {"json_warning", json_warning, METH_VARARGS,
     "json_warning(value: bytes, service_fields) -> (route, status, service, time) or False or None"},
    {"plain_line", plain_line, METH_VARARGS,
     "plain_line(text: str) -> (message start, level start, level end, logger start, logger end, timestamp) "
     "as formats._plain reads an ASCII line, or None where Python decides"},
    {"may_continue", may_continue, METH_VARARGS,
     "may_continue(value: bytes) -> False where prefilter.continuation cannot match it (count_lines asks it only "
     "where this is True)"},
    {"values_and_stamps", values_and_stamps, METH_VARARGS,
     "values_and_stamps(records) -> ([record.value], packed doubles of record.timestamp / 1000.0, any value None)"},
    {"count_lines", count_lines, METH_VARARGS,
     "count_lines(records, values, stamps, index, flags, key_services, lag, open_services, announcing, "
     "may_continue, slots, (services, starts, values), watermark, since, width, lateness, calibrate_every) "
     "-> (index, watermark, since)"},
    {"redact_setup", redact_setup, METH_VARARGS,
     "redact_setup(guards, words, entries, numeric_bit, token_bit): redact.py's tables, once"},
    {"redact_plan", redact_plan, METH_VARARGS, "redact_plan(text: str) -> (rules, personal) or None"},
    {"compose_service_time", compose_service_time, METH_VARARGS,
     "compose_service_time(line: bytes) -> (compose name, epoch or None) or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__scan(void) {
    for (int c = 0; c < 256; c++) LOWER[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    for (const char *p = "efcptwsaEFCPTWSA"; *p; p++) FIRST[(unsigned char)*p] = 1;
    for (const char *p = "raxemliRAXEMLI "; *p; p++) SECOND[(unsigned char)*p] = 1;
    static const char *THIRDS[] = {"rria", "atnr", "xc", "evg", "me", "le", "ig", " m", NULL};
    for (const char **t = THIRDS; *t; t++)
        for (const char *c = *t + 1; *c; c++) {
            uint32_t bit = 1u << ((unsigned char)*c & 31);
            THIRD[(unsigned char)(*t)[0]] |= bit;
            if ((*t)[0] != ' ') THIRD[(unsigned char)(*t)[0] - 32] |= bit;
        }
    for (int c = 0; c < 256; c++)
        CLASS[c] = (unsigned char)((c == 0 || c >= 0x80 ? K_PARSE : 0) | (FIRST[c] ? K_WORD : 0)
                                   | (c == 's' || c == 'S' ? K_STATUS : 0) | (c == '"' ? K_QUOTE : 0)
                                   | (c == ']' ? K_BRACKET : 0));
    json_init();
    KEY_ATTR = PyUnicode_InternFromString("key");
    VALUE_ATTR = PyUnicode_InternFromString("value");
    TIMESTAMP_ATTR = PyUnicode_InternFromString("timestamp");
    THOUSAND = PyFloat_FromDouble(1000.0);
    if (VALUE_ATTR == NULL || TIMESTAMP_ATTR == NULL || THOUSAND == NULL) return NULL;
    ONE = PyLong_FromLong(1);
    if (KEY_ATTR == NULL || ONE == NULL) return NULL;
    return PyModule_Create(&module);
}
