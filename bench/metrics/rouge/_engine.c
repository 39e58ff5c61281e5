/*
 * bench.metrics.rouge._engine: bench's ROUGE scorer in C.
 *
 * The numbers are those of bench's pure-Python scorer (bench/metrics/rouge/
 * lib_rouge.py, itself held to rouge_score 0.1.2) bit for bit;
 * tests/metrics/test_native.py holds them. What the Python modules document
 * holds here; only the data structures differ:
 *
 *  - a text is tokenized once: lowercased (str.lower() for non-ASCII text,
 *    called before the GIL is released), runs of characters outside [a-z0-9]
 *    separate tokens, "\n" also ends a sentence (ROUGE-Lsum);
 *  - each distinct word is stemmed once per call (Porter, the rules of nltk's
 *    PorterStemmer() in its default mode, as bench/text/porter.py states
 *    them) and tokens become integer ids, so the scores compare integers;
 *  - ROUGE-1 counts shared ids in arrays indexed by id, ROUGE-2 in a small
 *    hash table of id pairs;
 *  - LCS lengths are bit-parallel (Hyyro 2004) over 64-bit words: v' = (v + u)
 *    | (v & ~u) with u = v & match-mask (u is a subset of v, so v - u never
 *    borrows); ROUGE-Lsum's backtrack reads L[i][j] = i - popcount of the low i
 *    bits of column j, and takes the steps of rouge_score's _backtrack_norec.
 *
 * The scoring runs without the GIL, so bench scores chunks of a batch in
 * threads, one per core. The build (hatch_build.py) is optional: without this
 * module bench scores with rouge-score-rs or its Python scorer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* GCC on x86-64 Linux: a POPCNT build of the scoring loop beside the baseline one, chosen at load time. */
/* BENCH_NO_TARGET_CLONES: the build hook's second try, for a compiler that refuses the attribute. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(BENCH_NO_TARGET_CLONES)
#define SCORE_ALL_ATTRIBUTES __attribute__((target_clones("popcnt", "default")))
#define HOT static inline __attribute__((always_inline))
#else
#define SCORE_ALL_ATTRIBUTES
#define HOT static inline
#endif

#if defined(_MSC_VER)
#include <intrin.h>
static inline int popcount64(uint64_t x) { return (int)__popcnt64(x); }
#else
HOT int popcount64(uint64_t x) { return __builtin_popcountll(x); }
#endif

/* ------------------------------------------------------------------ Porter */

/* Stems are built in place in a buffer of at least len + 8 bytes; every rule
 * below shortens the word or lengthens it by at most one letter. */

typedef struct {
    char *s;
    int n;
} Word;

static int is_vowel_char(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* What the rules ask of a stem s[0:n], read in one pass. A letter is a consonant (1) unless it is a, e, i, o,
 * u, or a y that follows a consonant (0, a vowel; a y at the start is a consonant). */
typedef struct {
    int m;                  /* the measure: vowel-consonant boundaries */
    int vowel;              /* whether any letter is a vowel */
    int last, last1, last2; /* the kinds of the last three letters (-1 where there is none) */
} Shape;

static Shape shape_of(const char *s, int n)
{
    Shape sh = {0, 0, -1, -1, -1};
    int prev = 0; /* as if a vowel came before the first letter */
    for (int i = 0; i < n; i++) {
        int k = is_vowel_char(s[i]) ? 0 : s[i] == 'y' ? !prev : 1;
        if (i > 0 && prev == 0 && k == 1)
            sh.m++;
        if (!k)
            sh.vowel = 1;
        sh.last2 = sh.last1;
        sh.last1 = sh.last;
        sh.last = k;
        prev = k;
    }
    return sh;
}

static int measure(const char *s, int n) { return shape_of(s, n).m; }

static int has_vowel(const char *s, int n) { return shape_of(s, n).vowel; }

/* The kind (1: consonant) of the last letter of s[0:n], n >= 1. */
static int last_kind(const char *s, int n) { return shape_of(s, n).last; }

static int double_consonant(const char *s, int n)
{
    return n >= 2 && s[n - 1] == s[n - 2] && last_kind(s, n) == 1;
}

/* *o: ends consonant-vowel-consonant, the last not w, x or y; or is a two-letter vowel-consonant. */
static int cvc(const char *s, int n)
{
    Shape sh = shape_of(s, n);
    if (n >= 3) {
        char last = s[n - 1];
        return sh.last2 == 1 && sh.last1 == 0 && sh.last == 1 && last != 'w' && last != 'x' && last != 'y';
    }
    return n == 2 && sh.last1 == 0 && sh.last == 1;
}

static int ends(const Word *w, const char *suffix, int len)
{
    return w->n >= len && memcmp(w->s + w->n - len, suffix, (size_t)len) == 0;
}

/* w = w[:-cut] + rep */
static void replace_suffix(Word *w, int cut, const char *rep)
{
    int r = (int)strlen(rep);
    w->n -= cut;
    memcpy(w->s + w->n, rep, (size_t)r);
    w->n += r;
}

enum { COND_M_POS, COND_M_GT1, COND_LOGI, COND_ION };

typedef struct {
    const char *suffix;
    const char *rep;
    int cond;
} Rule;

static int condition(int cond, const char *s, int n)
{
    switch (cond) {
    case COND_M_POS:
        return measure(s, n) > 0;
    case COND_M_GT1:
        return measure(s, n) > 1;
    case COND_LOGI: {
        /* the measure of "logi"'s stem is taken with its "l" */
        return measure(s, n + 1) > 0;
    }
    case COND_ION:
        return measure(s, n) > 1 && n > 0 && (s[n - 1] == 's' || s[n - 1] == 't');
    }
    return 0;
}

/* The first rule whose suffix the word ends with decides; the word is unchanged if its condition fails. */
static void first_rule(Word *w, const Rule *rules, int count)
{
    for (int k = 0; k < count; k++) {
        int len = (int)strlen(rules[k].suffix);
        if (ends(w, rules[k].suffix, len)) {
            if (condition(rules[k].cond, w->s, w->n - len))
                replace_suffix(w, len, rules[k].rep);
            return;
        }
    }
}

static const Rule STEP2[] = {
    {"ational", "ate", COND_M_POS}, {"tional", "tion", COND_M_POS}, {"enci", "ence", COND_M_POS},
    {"anci", "ance", COND_M_POS},   {"izer", "ize", COND_M_POS},    {"bli", "ble", COND_M_POS},
    {"alli", "al", COND_M_POS},     {"entli", "ent", COND_M_POS},   {"eli", "e", COND_M_POS},
    {"ousli", "ous", COND_M_POS},   {"ization", "ize", COND_M_POS}, {"ation", "ate", COND_M_POS},
    {"ator", "ate", COND_M_POS},    {"alism", "al", COND_M_POS},    {"iveness", "ive", COND_M_POS},
    {"fulness", "ful", COND_M_POS}, {"ousness", "ous", COND_M_POS}, {"aliti", "al", COND_M_POS},
    {"iviti", "ive", COND_M_POS},   {"biliti", "ble", COND_M_POS},  {"fulli", "ful", COND_M_POS},
    {"logi", "log", COND_LOGI},
};

static const Rule STEP3[] = {
    {"icate", "ic", COND_M_POS}, {"ative", "", COND_M_POS}, {"alize", "al", COND_M_POS},
    {"iciti", "ic", COND_M_POS}, {"ical", "ic", COND_M_POS}, {"ful", "", COND_M_POS},
    {"ness", "", COND_M_POS},
};

static const Rule STEP4[] = {
    {"al", "", COND_M_GT1},   {"ance", "", COND_M_GT1}, {"ence", "", COND_M_GT1}, {"er", "", COND_M_GT1},
    {"ic", "", COND_M_GT1},   {"able", "", COND_M_GT1}, {"ible", "", COND_M_GT1}, {"ant", "", COND_M_GT1},
    {"ement", "", COND_M_GT1}, {"ment", "", COND_M_GT1}, {"ent", "", COND_M_GT1}, {"ion", "", COND_ION},
    {"ou", "", COND_M_GT1},   {"ism", "", COND_M_GT1},  {"ate", "", COND_M_GT1},  {"iti", "", COND_M_GT1},
    {"ous", "", COND_M_GT1},  {"ive", "", COND_M_GT1},  {"ize", "", COND_M_GT1},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void step1a(Word *w)
{
    if (w->n == 4 && ends(w, "ies", 3)) {
        replace_suffix(w, 3, "ie");
        return;
    }
    if (ends(w, "sses", 4))
        replace_suffix(w, 4, "ss");
    else if (ends(w, "ies", 3))
        replace_suffix(w, 3, "i");
    else if (ends(w, "ss", 2))
        return;
    else if (ends(w, "s", 1))
        w->n -= 1;
}

static void step1b(Word *w)
{
    if (ends(w, "ied", 3)) {
        replace_suffix(w, 3, w->n == 4 ? "ie" : "i");
        return;
    }
    if (ends(w, "eed", 3)) {
        if (measure(w->s, w->n - 3) > 0)
            w->n -= 1; /* stem + "ee" */
        return;
    }
    int cut = 0;
    if (ends(w, "ed", 2) && has_vowel(w->s, w->n - 2))
        cut = 2;
    else if (ends(w, "ing", 3) && has_vowel(w->s, w->n - 3))
        cut = 3;
    if (!cut)
        return;
    w->n -= cut;
    if (ends(w, "at", 2) || ends(w, "bl", 2) || ends(w, "iz", 2)) {
        w->s[w->n++] = 'e';
        return;
    }
    if (double_consonant(w->s, w->n)) {
        char last = w->s[w->n - 1];
        if (last != 'l' && last != 's' && last != 'z')
            w->n -= 1;
        return;
    }
    if (measure(w->s, w->n) == 1 && cvc(w->s, w->n))
        w->s[w->n++] = 'e';
}

static void step1c(Word *w)
{
    if (ends(w, "y", 1)) {
        int n = w->n - 1;
        if (n > 1 && last_kind(w->s, n) == 1)
            w->s[n] = 'i';
    }
}

static void step2(Word *w)
{
    while (ends(w, "alli", 4) && measure(w->s, w->n - 4) > 0)
        replace_suffix(w, 4, "al"); /* and step 2 runs again */
    first_rule(w, STEP2, COUNT(STEP2));
}

static void step5a(Word *w)
{
    if (ends(w, "e", 1)) {
        int n = w->n - 1;
        int m = measure(w->s, n);
        if (m > 1 || (m == 1 && !cvc(w->s, n)))
            w->n = n;
    }
}

static void step5b(Word *w)
{
    if (ends(w, "ll", 2) && measure(w->s, w->n - 1) > 1)
        w->n -= 1;
}

static const char *IRREGULAR[][2] = {
    {"sky", "sky"},         {"skies", "sky"},        {"dying", "die"},       {"lying", "lie"},
    {"tying", "tie"},       {"news", "news"},        {"innings", "inning"},  {"inning", "inning"},
    {"outings", "outing"},  {"outing", "outing"},    {"cannings", "canning"}, {"canning", "canning"},
    {"howe", "howe"},       {"proceed", "proceed"},  {"exceed", "exceed"},   {"succeed", "succeed"},
};

/* Stem the lowercase ASCII word buf[0:n] in place (buf holds n + 8 bytes); returns the stem's length. */
static int porter_stem(char *buf, int n)
{
    for (int k = 0; k < COUNT(IRREGULAR); k++) {
        if ((int)strlen(IRREGULAR[k][0]) == n && memcmp(IRREGULAR[k][0], buf, (size_t)n) == 0) {
            int r = (int)strlen(IRREGULAR[k][1]);
            memcpy(buf, IRREGULAR[k][1], (size_t)r);
            return r;
        }
    }
    if (n <= 2)
        return n;
    Word w = {buf, n};
    step1a(&w);
    step1b(&w);
    step1c(&w);
    step2(&w);
    first_rule(&w, STEP3, COUNT(STEP3));
    first_rule(&w, STEP4, COUNT(STEP4));
    step5a(&w);
    step5b(&w);
    return w.n;
}

/* ------------------------------------------------------------ vocabulary */

/* An open-addressing table of byte strings -> int32, the strings kept in an arena. */
typedef struct {
    uint64_t *hashes;   /* 0: empty slot */
    int64_t *offsets;   /* into arena */
    int32_t *lengths;
    int32_t *values;
    size_t cap, used;
    char *arena;
    size_t arena_len, arena_cap;
} Table;

#define FNV_START 1469598103934665603ULL
#define FNV_STEP(h, c) (((h) ^ (unsigned char)(c)) * 1099511628211ULL)

static inline uint64_t hash_finish(uint64_t h)
{
    h ^= h >> 29;
    return h ? h : 1;
}

static uint64_t hash_bytes(const char *s, int n)
{
    uint64_t h = FNV_START;
    for (int i = 0; i < n; i++)
        h = FNV_STEP(h, s[i]);
    return hash_finish(h);
}

static int table_init(Table *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    t->cap = cap;
    t->hashes = calloc(cap, sizeof(uint64_t));
    t->offsets = malloc(cap * sizeof(int64_t));
    t->lengths = malloc(cap * sizeof(int32_t));
    t->values = malloc(cap * sizeof(int32_t));
    t->arena_cap = 1 << 16;
    t->arena = malloc(t->arena_cap);
    return t->hashes && t->offsets && t->lengths && t->values && t->arena ? 0 : -1;
}

static void table_free(Table *t)
{
    free(t->hashes);
    free(t->offsets);
    free(t->lengths);
    free(t->values);
    free(t->arena);
}

static int table_grow(Table *t)
{
    Table bigger;
    size_t cap = t->cap * 2;
    bigger = *t;
    bigger.cap = cap;
    bigger.hashes = calloc(cap, sizeof(uint64_t));
    bigger.offsets = malloc(cap * sizeof(int64_t));
    bigger.lengths = malloc(cap * sizeof(int32_t));
    bigger.values = malloc(cap * sizeof(int32_t));
    if (!bigger.hashes || !bigger.offsets || !bigger.lengths || !bigger.values) {
        free(bigger.hashes);
        free(bigger.offsets);
        free(bigger.lengths);
        free(bigger.values);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->hashes[i])
            continue;
        size_t j = t->hashes[i] & (cap - 1);
        while (bigger.hashes[j])
            j = (j + 1) & (cap - 1);
        bigger.hashes[j] = t->hashes[i];
        bigger.offsets[j] = t->offsets[i];
        bigger.lengths[j] = t->lengths[i];
        bigger.values[j] = t->values[i];
    }
    free(t->hashes);
    free(t->offsets);
    free(t->lengths);
    free(t->values);
    *t = bigger;
    return 0;
}

/* The slot of s[0:n]: found (*found = 1) or where it would go. */
static size_t table_find(const Table *t, const char *s, int n, uint64_t h, int *found)
{
    size_t j = h & (t->cap - 1);
    while (t->hashes[j]) {
        if (t->hashes[j] == h && t->lengths[j] == n && memcmp(t->arena + t->offsets[j], s, (size_t)n) == 0) {
            *found = 1;
            return j;
        }
        j = (j + 1) & (t->cap - 1);
    }
    *found = 0;
    return j;
}

static int table_insert(Table *t, size_t slot, const char *s, int n, uint64_t h, int32_t value)
{
    if (t->arena_len + (size_t)n > t->arena_cap) {
        size_t cap = t->arena_cap * 2;
        while (cap < t->arena_len + (size_t)n)
            cap *= 2;
        char *a = realloc(t->arena, cap);
        if (!a)
            return -1;
        t->arena = a;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, s, (size_t)n);
    t->hashes[slot] = h;
    t->offsets[slot] = (int64_t)t->arena_len;
    t->lengths[slot] = n;
    t->values[slot] = value;
    t->arena_len += (size_t)n;
    t->used++;
    if (t->used * 2 > t->cap)
        return table_grow(t);
    return 0;
}

/* -------------------------------------------------------------- scorer */

typedef struct {
    int32_t *data;
    size_t len, cap;
} IntVec;

static int vec_push(IntVec *v, int32_t x)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        int32_t *d = realloc(v->data, cap * sizeof(int32_t));
        if (!d)
            return -1;
        v->data = d;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

/* A tokenized text: token ids, and where each non-empty sentence starts (sent[nsent] = ntok). */
typedef struct {
    IntVec tok;
    IntVec sent;
} Text;

typedef struct {
    int stem;
    Table raw;          /* word as written (lowercased) -> id, or -1 when dropped */
    Table stems;        /* stem -> id (with stemming) */
    int32_t nids;
    /* arrays indexed by id, nids_cap long */
    int32_t *cnt_a, *cnt_b, *slot_of;
    size_t nids_cap;
    /* per pair */
    uint64_t *masks;    /* match masks, words per distinct token */
    size_t masks_cap;
    uint64_t *cols;     /* bit columns of one sentence pair */
    size_t cols_cap;
    uint64_t *vbuf;
    size_t vbuf_cap;
    /* bigram table */
    uint64_t *bg_keys;
    int32_t *bg_cnt;
    uint32_t *bg_stamp;
    uint32_t stamp;
    size_t bg_cap;
    char *word;         /* the word being read */
    size_t word_cap;
    int failed;
} Scorer;

static int scorer_init(Scorer *sc, int stem)
{
    memset(sc, 0, sizeof(*sc));
    sc->stem = stem;
    if (table_init(&sc->raw, 1 << 12) || table_init(&sc->stems, 1 << 12))
        return -1;
    sc->word_cap = 256;
    sc->word = malloc(sc->word_cap);
    return sc->word ? 0 : -1;
}

static void scorer_free(Scorer *sc)
{
    table_free(&sc->raw);
    table_free(&sc->stems);
    free(sc->cnt_a);
    free(sc->cnt_b);
    free(sc->slot_of);
    free(sc->masks);
    free(sc->cols);
    free(sc->vbuf);
    free(sc->bg_keys);
    free(sc->bg_cnt);
    free(sc->bg_stamp);
    free(sc->word);
}

static int ensure_ids(Scorer *sc)
{
    if ((size_t)sc->nids < sc->nids_cap)
        return 0;
    size_t cap = sc->nids_cap ? sc->nids_cap * 2 : 4096;
    int32_t *a = realloc(sc->cnt_a, cap * sizeof(int32_t));
    if (!a)
        return -1;
    sc->cnt_a = a;
    int32_t *b = realloc(sc->cnt_b, cap * sizeof(int32_t));
    if (!b)
        return -1;
    sc->cnt_b = b;
    int32_t *s = realloc(sc->slot_of, cap * sizeof(int32_t));
    if (!s)
        return -1;
    sc->slot_of = s;
    for (size_t i = sc->nids_cap; i < cap; i++) {
        sc->cnt_a[i] = 0;
        sc->cnt_b[i] = 0;
        sc->slot_of[i] = -1;
    }
    sc->nids_cap = cap;
    return 0;
}

/* The id of word w[0:n] (lowercase [a-z0-9]), -1 when the tokenizer drops it, -2 on memory failure. */
static int32_t word_id(Scorer *sc, char *w, int n, uint64_t h)
{
    int found;
    size_t slot = table_find(&sc->raw, w, n, h, &found);
    if (found)
        return sc->raw.values[slot];
    int32_t id;
    if (!sc->stem) {
        if (ensure_ids(sc))
            return -2;
        id = sc->nids++;
    }
    else {
        char *buf = malloc((size_t)n + 8);
        if (!buf)
            return -2;
        memcpy(buf, w, (size_t)n);
        int m = n > 3 ? porter_stem(buf, n) : n; /* rouge_score stems tokens longer than 3 characters */
        if (m == 0) {
            id = -1; /* not [a-z0-9]+ after stemming: dropped */
        }
        else {
            uint64_t hs = hash_bytes(buf, m);
            int found_stem;
            size_t s = table_find(&sc->stems, buf, m, hs, &found_stem);
            if (found_stem) {
                id = sc->stems.values[s];
            }
            else {
                if (ensure_ids(sc)) {
                    free(buf);
                    return -2;
                }
                id = sc->nids++;
                if (table_insert(&sc->stems, s, buf, m, hs, id)) {
                    free(buf);
                    return -2;
                }
            }
        }
        free(buf);
    }
    if (table_insert(&sc->raw, slot, w, n, h, id))
        return -2;
    return id;
}

/* Byte -> the character the tokenizer keeps (A-Z lowercased, a-z, 0-9), or 0 for a separator. */
static unsigned char KEEP[256];

static void init_keep(void)
{
    for (int c = 0; c < 256; c++)
        KEEP[c] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? (unsigned char)c
                  : (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : 0;
}

/* What a text's characters are, read without the GIL. */
typedef struct {
    const void *data;
    Py_ssize_t len;
    int kind;       /* PyUnicode kind; 0: ASCII */
} Chars;

/* rouge_score lowercases with str.lower() and keeps [a-z0-9] of the result. Of the characters outside ASCII,
 * str.lower() gives an ASCII letter or digit for two only: U+0130 (capital I with dot above) -> "i" + U+0307
 * (a combining dot, so the word ends there) and U+212A (Kelvin sign) -> "k"; every other one lowercases to
 * characters outside ASCII, which separate words (str.lower()'s one contextual rule, the final sigma, chooses
 * between two Greek letters). tests/metrics/test_native.py checks this against str.lower() over every code
 * point. So the tokenizer reads the text as given and needs no lowercased copy. */
#define DOTTED_CAPITAL_I 0x130
#define KELVIN_SIGN 0x212A

/* Whether rouge_score's tokenizer drops most of the letters and digits of the text: of its characters that
 * str.isalnum() accepts, fewer than half are [a-z0-9] after str.lower() (rouge_metric._loses_text). */
static int loses_text(const Chars *c)
{
    if (c->kind == 0)
        return 0; /* ASCII: every letter and digit is kept */
    /* First a bound: every kept character is alphanumeric, and at most every other character outside ASCII
     * is one; when the kept ones are half of that bound, the text cannot lose most of them. */
    Py_ssize_t kept = 0, other = 0;
    for (Py_ssize_t i = 0; i < c->len; i++) {
        Py_UCS4 ch = PyUnicode_READ(c->kind, c->data, i);
        if ((ch < 128 && KEEP[ch]) || ch == DOTTED_CAPITAL_I || ch == KELVIN_SIGN)
            kept++;
        else if (ch >= 128)
            other++;
    }
    if ((double)kept >= 0.5 * (double)(kept + other))
        return 0;
    Py_ssize_t alnum = 0;
    for (Py_ssize_t i = 0; i < c->len; i++)
        alnum += Py_UNICODE_ISALNUM(PyUnicode_READ(c->kind, c->data, i)) != 0;
    return alnum > 0 && (double)kept < 0.5 * (double)alnum;
}

static int end_word(Scorer *sc, Text *t, int n, uint64_t h)
{
    if (!n)
        return 0;
    int32_t id = word_id(sc, sc->word, n, hash_finish(h));
    if (id == -2)
        return -1;
    if (id >= 0)
        return vec_push(&t->tok, id);
    return 0;
}

static int end_sentence(Text *t)
{
    if (t->tok.len > (size_t)t->sent.data[t->sent.len - 1])
        return vec_push(&t->sent, (int32_t)t->tok.len);
    return 0;
}

static int grow_word(Scorer *sc)
{
    char *w = realloc(sc->word, sc->word_cap * 2);
    if (!w)
        return -1;
    sc->word = w;
    sc->word_cap *= 2;
    return 0;
}

static int tokenize(Scorer *sc, const Chars *c, Text *t)
{
    t->tok.len = 0;
    t->sent.len = 0;
    if (vec_push(&t->sent, 0))
        return -1;
    int n = 0;
    uint64_t h = FNV_START;
    if (c->kind == 0) {
        const unsigned char *d = (const unsigned char *)c->data;
        for (Py_ssize_t i = 0; i < c->len; i++) {
            unsigned char k = KEEP[d[i]];
            if (k) {
                if ((size_t)n + 1 >= sc->word_cap && grow_word(sc))
                    return -1;
                sc->word[n++] = (char)k;
                h = FNV_STEP(h, k);
                continue;
            }
            if (n) {
                if (end_word(sc, t, n, h))
                    return -1;
                n = 0;
                h = FNV_START;
            }
            if (d[i] == '\n' && end_sentence(t))
                return -1;
        }
    }
    else {
        for (Py_ssize_t i = 0; i < c->len; i++) {
            Py_UCS4 ch = PyUnicode_READ(c->kind, c->data, i);
            unsigned char k = ch < 128 ? KEEP[ch] : ch == KELVIN_SIGN ? 'k' : ch == DOTTED_CAPITAL_I ? 'i' : 0;
            if (k) {
                if ((size_t)n + 1 >= sc->word_cap && grow_word(sc))
                    return -1;
                sc->word[n++] = (char)k;
                h = FNV_STEP(h, k);
                if (ch != DOTTED_CAPITAL_I)
                    continue;
                /* "i" + U+0307: the combining dot ends the word */
            }
            if (n) {
                if (end_word(sc, t, n, h))
                    return -1;
                n = 0;
                h = FNV_START;
            }
            if (ch == '\n' && end_sentence(t))
                return -1;
        }
    }
    if (end_word(sc, t, n, h) || end_sentence(t))
        return -1;
    return 0;
}

static double fmeasure(double p, double r)
{
    if (p + r > 0)
        return 2 * p * r / (p + r);
    return 0.0;
}

typedef struct {
    double p, r, f;
} Score;

static Score make_score(double p, double r)
{
    Score s = {p, r, fmeasure(p, r)};
    return s;
}

static Score score_unigrams(Scorer *sc, const IntVec *ref, const IntVec *pred)
{
    int32_t *cnt = sc->cnt_a;
    for (size_t i = 0; i < ref->len; i++)
        cnt[ref->data[i]]++;
    size_t overlap = 0;
    for (size_t i = 0; i < pred->len; i++) {
        int32_t id = pred->data[i];
        if (cnt[id] > 0) {
            cnt[id]--;
            overlap++;
        }
    }
    for (size_t i = 0; i < ref->len; i++)
        cnt[ref->data[i]] = 0;
    double p = (double)overlap / (double)(pred->len > 0 ? pred->len : 1);
    double r = (double)overlap / (double)(ref->len > 0 ? ref->len : 1);
    return make_score(p, r);
}

static int bigram_table(Scorer *sc, size_t need)
{
    size_t cap = 64;
    while (cap < need * 2)
        cap *= 2;
    if (cap <= sc->bg_cap)
        return 0;
    free(sc->bg_keys);
    free(sc->bg_cnt);
    free(sc->bg_stamp);
    sc->bg_keys = malloc(cap * sizeof(uint64_t));
    sc->bg_cnt = malloc(cap * sizeof(int32_t));
    sc->bg_stamp = calloc(cap, sizeof(uint32_t));
    sc->bg_cap = cap;
    sc->stamp = 0;
    return sc->bg_keys && sc->bg_cnt && sc->bg_stamp ? 0 : -1;
}

static inline size_t bigram_slot(uint64_t key, size_t cap)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

static int score_bigrams(Scorer *sc, const IntVec *ref, const IntVec *pred, Score *out)
{
    size_t nr = ref->len >= 2 ? ref->len - 1 : 0;
    size_t np = pred->len >= 2 ? pred->len - 1 : 0;
    size_t overlap = 0;
    if (nr && np) {
        if (bigram_table(sc, nr))
            return -1;
        size_t cap = sc->bg_cap;
        uint32_t stamp = ++sc->stamp;
        if (stamp == 0) { /* wrapped: clear the stamps */
            memset(sc->bg_stamp, 0, cap * sizeof(uint32_t));
            stamp = sc->stamp = 1;
        }
        for (size_t i = 0; i < nr; i++) {
            uint64_t key = ((uint64_t)(uint32_t)ref->data[i] << 32) | (uint32_t)ref->data[i + 1];
            size_t j = bigram_slot(key, cap);
            while (sc->bg_stamp[j] == stamp && sc->bg_keys[j] != key)
                j = (j + 1) & (cap - 1);
            if (sc->bg_stamp[j] == stamp) {
                sc->bg_cnt[j]++;
            }
            else {
                sc->bg_stamp[j] = stamp;
                sc->bg_keys[j] = key;
                sc->bg_cnt[j] = 1;
            }
        }
        for (size_t i = 0; i < np; i++) {
            uint64_t key = ((uint64_t)(uint32_t)pred->data[i] << 32) | (uint32_t)pred->data[i + 1];
            size_t j = bigram_slot(key, cap);
            while (sc->bg_stamp[j] == stamp && sc->bg_keys[j] != key)
                j = (j + 1) & (cap - 1);
            if (sc->bg_stamp[j] == stamp && sc->bg_cnt[j] > 0) {
                sc->bg_cnt[j]--;
                overlap++;
            }
        }
    }
    double p = (double)overlap / (double)(np > 0 ? np : 1);
    double r = (double)overlap / (double)(nr > 0 ? nr : 1);
    *out = make_score(p, r);
    return 0;
}

static int reserve_u64(uint64_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    uint64_t *b = realloc(*buf, c * sizeof(uint64_t));
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

/* Match masks of ref[0:m] (words 64-bit words each): slot_of[id] -> row of sc->masks. */
static int build_masks(Scorer *sc, const int32_t *ref, size_t m, size_t words)
{
    size_t distinct = 0;
    for (size_t i = 0; i < m; i++) {
        if (sc->slot_of[ref[i]] < 0)
            sc->slot_of[ref[i]] = (int32_t)distinct++;
    }
    if (reserve_u64(&sc->masks, &sc->masks_cap, distinct * words))
        return -1;
    memset(sc->masks, 0, distinct * words * sizeof(uint64_t));
    for (size_t i = 0; i < m; i++)
        sc->masks[(size_t)sc->slot_of[ref[i]] * words + i / 64] |= 1ULL << (i % 64);
    return 0;
}

static void clear_masks(Scorer *sc, const int32_t *ref, size_t m)
{
    for (size_t i = 0; i < m; i++)
        sc->slot_of[ref[i]] = -1;
}

/* One step of the bit-parallel LCS: v = (v + u) | (v & ~u), u = v & mask, over `words` words, low m bits kept. */
HOT void lcs_step(uint64_t *v, const uint64_t *mask, size_t words, uint64_t top)
{
    uint64_t carry = 0;
    for (size_t k = 0; k < words; k++) {
        uint64_t u = v[k] & mask[k];
        uint64_t s = v[k] + u;
        uint64_t c1 = s < v[k];
        uint64_t s2 = s + carry;
        uint64_t c2 = s2 < s;
        v[k] = s2 | (v[k] & ~u);
        carry = c1 | c2;
    }
    v[words - 1] &= top;
}

static inline uint64_t top_mask(size_t m)
{
    return (m % 64) ? ((1ULL << (m % 64)) - 1) : ~0ULL;
}

/* LCS length of ref and can. */
HOT int lcs_length(Scorer *sc, const int32_t *ref, size_t m, const int32_t *can, size_t n, size_t *out)
{
    if (!m || !n) {
        *out = 0;
        return 0;
    }
    size_t words = (m + 63) / 64;
    if (build_masks(sc, ref, m, words) || reserve_u64(&sc->vbuf, &sc->vbuf_cap, words))
        return -1;
    uint64_t *v = sc->vbuf;
    uint64_t top = top_mask(m);
    for (size_t k = 0; k < words; k++)
        v[k] = ~0ULL;
    v[words - 1] = top;
    for (size_t j = 0; j < n; j++) {
        int32_t slot = sc->slot_of[can[j]];
        if (slot >= 0)
            lcs_step(v, sc->masks + (size_t)slot * words, words, top);
    }
    size_t zeros = 0;
    for (size_t k = 0; k < words; k++)
        zeros += (size_t)popcount64(v[k]);
    clear_masks(sc, ref, m);
    *out = m - zeros;
    return 0;
}

/* L[i][j] from column j's bits: i - popcount(low i bits). */
HOT size_t dp_value(const uint64_t *col, size_t i)
{
    size_t ones = 0, k = 0;
    for (; (k + 1) * 64 <= i; k++)
        ones += (size_t)popcount64(col[k]);
    if (i % 64)
        ones += (size_t)popcount64(col[k] & ((1ULL << (i % 64)) - 1));
    return i - ones;
}

/* Adds to `uni` (a bitset over ref) the indices of the LCS rouge_score's lcs_ind picks. The masks of ref
 * must be built (build_masks). */
HOT int lcs_union(Scorer *sc, const int32_t *ref, size_t m, const int32_t *can, size_t n, size_t words,
                     uint64_t *uni)
{
    if (!m || !n)
        return 0;
    if (reserve_u64(&sc->cols, &sc->cols_cap, (n + 1) * words))
        return -1;
    uint64_t *cols = sc->cols;
    uint64_t top = top_mask(m);
    for (size_t k = 0; k < words; k++)
        cols[k] = ~0ULL;
    cols[words - 1] = top;
    for (size_t j = 0; j < n; j++) {
        uint64_t *next = cols + (j + 1) * words;
        memcpy(next, cols + j * words, words * sizeof(uint64_t));
        int32_t slot = sc->slot_of[can[j]];
        if (slot >= 0)
            lcs_step(next, sc->masks + (size_t)slot * words, words, top);
    }
    size_t i = m, j = n;
    while (i > 0 && j > 0) {
        if (ref[i - 1] == can[j - 1]) {
            uni[(i - 1) / 64] |= 1ULL << ((i - 1) % 64);
            i--;
            j--;
        }
        else {
            size_t left = dp_value(cols + (j - 1) * words, i);
            size_t up = dp_value(cols + j * words, i - 1);
            if (left > up)
                j--;
            else
                i--;
        }
    }
    return 0;
}

HOT int score_summary_lcs(Scorer *sc, const Text *ref, const Text *pred, Score *out)
{
    size_t m = ref->tok.len, n = pred->tok.len;
    size_t rs = ref->sent.len - 1, ps = pred->sent.len - 1;
    if (!rs || !ps || !m || !n) {
        *out = make_score(0.0, 0.0);
        return 0;
    }
    int32_t *cr = sc->cnt_a, *cp = sc->cnt_b;
    for (size_t i = 0; i < m; i++)
        cr[ref->tok.data[i]]++;
    for (size_t i = 0; i < n; i++)
        cp[pred->tok.data[i]]++;
    size_t hits = 0;
    int rc = 0;
    for (size_t a = 0; a < rs && !rc; a++) {
        const int32_t *r = ref->tok.data + ref->sent.data[a];
        size_t mr = (size_t)(ref->sent.data[a + 1] - ref->sent.data[a]);
        size_t words = (mr + 63) / 64;
        uint64_t unibuf[4];
        uint64_t *uni = words <= 4 ? unibuf : calloc(words, sizeof(uint64_t));
        if (!uni) {
            rc = -1;
            break;
        }
        memset(uni, 0, words * sizeof(uint64_t));
        if (build_masks(sc, r, mr, words)) {
            rc = -1;
        }
        for (size_t b = 0; b < ps && !rc; b++) {
            const int32_t *c = pred->tok.data + pred->sent.data[b];
            size_t nc = (size_t)(pred->sent.data[b + 1] - pred->sent.data[b]);
            rc = lcs_union(sc, r, mr, c, nc, words, uni);
        }
        clear_masks(sc, r, mr);
        for (size_t i = 0; i < mr && !rc; i++) {
            if (!(uni[i / 64] >> (i % 64) & 1))
                continue;
            int32_t t = r[i];
            if (cp[t] > 0 && cr[t] > 0) {
                hits++;
                cp[t]--;
                cr[t]--;
            }
        }
        if (uni != unibuf)
            free(uni);
    }
    for (size_t i = 0; i < m; i++)
        cr[ref->tok.data[i]] = 0;
    for (size_t i = 0; i < n; i++)
        cp[pred->tok.data[i]] = 0;
    if (rc)
        return -1;
    double recall = (double)hits / (double)m;
    double precision = (double)hits / (double)n;
    *out = make_score(precision, recall);
    return 0;
}

#define NTYPES 4 /* rouge1, rouge2, rougeL, rougeLsum */

HOT int score_pair(Scorer *sc, const Text *ref, const Text *pred, Score out[NTYPES])
{
    out[0] = score_unigrams(sc, &ref->tok, &pred->tok);
    if (score_bigrams(sc, &ref->tok, &pred->tok, &out[1]))
        return -1;
    if (!ref->tok.len || !pred->tok.len) {
        out[2] = make_score(0.0, 0.0);
    }
    else {
        size_t lcs;
        if (lcs_length(sc, ref->tok.data, ref->tok.len, pred->tok.data, pred->tok.len, &lcs))
            return -1;
        out[2] = make_score((double)lcs / (double)pred->tok.len, (double)lcs / (double)ref->tok.len);
    }
    return score_summary_lcs(sc, ref, pred, &out[3]);
}

/* ------------------------------------------------------------- Python API */

static int chars_of(PyObject *text, Chars *out)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "expected str, got %.100s", Py_TYPE(text)->tp_name);
        return -1;
    }
    out->data = PyUnicode_DATA(text);
    out->len = PyUnicode_GET_LENGTH(text);
    out->kind = PyUnicode_IS_ASCII(text) ? 0 : PyUnicode_KIND(text);
    return 0;
}

/* Scores every example; 1 on memory failure. Runs without the GIL. Where the compiler can, it is also built
 * for processors with a POPCNT instruction and picks that build at load time (the LCS reads popcounts). */
SCORE_ALL_ATTRIBUTES
static int score_all(const Chars *chars, const Py_ssize_t *ref_start, Py_ssize_t n, Py_ssize_t ntexts, int stem,
                     int full, double *out, Py_ssize_t *lossy)
{
    *lossy = 0;
    size_t width = full ? NTYPES * 3 : NTYPES;
    int failed = 0;
    Scorer sc;
    Text pred = {{0}, {0}}, ref = {{0}, {0}};
    if (scorer_init(&sc, stem)) {
        failed = 1;
    }
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        Score best[NTYPES] = {{0}}, cur[NTYPES];
        if (tokenize(&sc, &chars[ref_start[i] - 1], &pred)) {
            failed = 1;
            break;
        }
        Py_ssize_t last = (i + 1 < n ? ref_start[i + 1] - 1 : ntexts);
        int loses = loses_text(&chars[ref_start[i] - 1]);
        for (Py_ssize_t r = ref_start[i]; r < last && !loses; r++)
            loses = loses_text(&chars[r]);
        *lossy += loses;
        for (Py_ssize_t r = ref_start[i]; r < last; r++) {
            if (tokenize(&sc, &chars[r], &ref) || score_pair(&sc, &ref, &pred, cur)) {
                failed = 1;
                break;
            }
            for (int t = 0; t < NTYPES; t++) {
                /* the first reference with the highest F-measure, as rouge_score's score_multi */
                if (r == ref_start[i] || cur[t].f > best[t].f)
                    best[t] = cur[t];
            }
        }
        double *row = out + (size_t)i * width;
        for (int t = 0; t < NTYPES && !failed; t++) {
            if (full) {
                row[3 * t] = best[t].p;
                row[3 * t + 1] = best[t].r;
                row[3 * t + 2] = best[t].f;
            }
            else {
                row[t] = best[t].f;
            }
        }
    }
    free(pred.tok.data);
    free(pred.sent.data);
    free(ref.tok.data);
    free(ref.sent.data);
    scorer_free(&sc);
    return failed;
}

PyDoc_STRVAR(rouge_doc,
"rouge(predictions, references, stem, full=False) -> (bytes, int)\n\n"
"ROUGE of each prediction against its references (a list of lists of str): per\n"
"example and type (rouge1, rouge2, rougeL, rougeLsum) the score of the reference\n"
"with the highest F-measure, the first on ties, as float64 values in C order:\n"
"(n, 4) F-measures, or (n, 4, 3) precision, recall, F-measure with full=True.\n"
"And how many examples have a text that loses most of its letters and digits to\n"
"the tokenizer. The GIL is released while scoring.");

/* The items of seq as a list or tuple that no code can change while they are read: the caller's tuple, else a
 * list of our own (a copy of the caller's list). Reading an example's references can run Python code (an
 * object's __iter__), which could shrink the caller's own list under the loop that reads it. */
static PyObject *snapshot(PyObject *seq, const char *message)
{
    PyObject *fast = PySequence_Fast(seq, message);
    if (fast && fast == seq && PyList_CheckExact(fast)) {
        PyObject *copy = PyList_GetSlice(fast, 0, PyList_GET_SIZE(fast));
        Py_DECREF(fast);
        return copy;
    }
    return fast;
}

static PyObject *py_rouge(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"predictions", "references", "stem", "full", NULL};
    PyObject *preds, *refs;
    int stem, full = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOp|p", kwlist, &preds, &refs, &stem, &full))
        return NULL;
    PyObject *pseq = snapshot(preds, "predictions must be a sequence");
    if (!pseq)
        return NULL;
    PyObject *rseq = snapshot(refs, "references must be a sequence");
    if (!rseq) {
        Py_DECREF(pseq);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(pseq);
    PyObject *result = NULL;
    Chars *chars = NULL;
    PyObject **keep = NULL;
    Py_ssize_t *ref_start = NULL;
    Py_ssize_t ntexts = 0, cap = 0;
    if (PySequence_Fast_GET_SIZE(rseq) != n) {
        PyErr_SetString(PyExc_ValueError, "predictions and references differ in length");
        goto done;
    }
    ref_start = malloc(sizeof(Py_ssize_t) * (size_t)(n + 1));
    cap = 2 * n + 16;
    chars = malloc(sizeof(Chars) * (size_t)cap);
    keep = calloc((size_t)cap, sizeof(PyObject *));
    if (!ref_start || !chars || !keep) {
        PyErr_NoMemory();
        goto done;
    }
    /* texts: prediction i at ref_start[i] - 1 ... laid out as [pred, refs...] per example */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *rlist = PySequence_Fast_GET_ITEM(rseq, i);
        /* may run Python code (a sequence's __iter__): pseq and rseq are snapshots, which it cannot change */
        PyObject *rs = PySequence_Fast(rlist, "each example's references must be a sequence of str");
        if (!rs)
            goto done;
        /* from here to Py_DECREF(rs) no Python code runs (nothing calls into an object or allocates a container
         * the garbage collector could start on), so rs, the caller's own list where it gave one, keeps this
         * length while its items are read */
        Py_ssize_t k = PySequence_Fast_GET_SIZE(rs);
        if (k == 0) {
            Py_DECREF(rs);
            PyErr_SetString(PyExc_ValueError, "ROUGE needs at least one reference");
            goto done;
        }
        if (ntexts + k + 1 > cap) {
            Py_ssize_t c = cap * 2 + k + 1;
            Chars *nc = realloc(chars, sizeof(Chars) * (size_t)c);
            PyObject **nk = realloc(keep, sizeof(PyObject *) * (size_t)c);
            if (nc)
                chars = nc;
            if (nk) {
                keep = nk;
                memset(keep + cap, 0, sizeof(PyObject *) * (size_t)(c - cap));
            }
            if (!nc || !nk) {
                Py_DECREF(rs);
                PyErr_NoMemory();
                goto done;
            }
            cap = c;
        }
        /* each text is held until the scores are done: the GIL is released meanwhile, and the caller's lists
         * (or a sequence's own copies) could let go of them */
        keep[ntexts] = PySequence_Fast_GET_ITEM(pseq, i);
        Py_INCREF(keep[ntexts]);
        ntexts++;
        if (chars_of(keep[ntexts - 1], &chars[ntexts - 1])) {
            Py_DECREF(rs);
            goto done;
        }
        ref_start[i] = ntexts;
        for (Py_ssize_t r = 0; r < k; r++) {
            keep[ntexts] = PySequence_Fast_GET_ITEM(rs, r);
            Py_INCREF(keep[ntexts]);
            ntexts++;
            if (chars_of(keep[ntexts - 1], &chars[ntexts - 1])) {
                Py_DECREF(rs);
                goto done;
            }
        }
        Py_DECREF(rs);
    }
    ref_start[n] = ntexts + 1;

    size_t width = full ? NTYPES * 3 : NTYPES;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(sizeof(double) * width * (size_t)n));
    if (!result)
        goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    int failed;
    Py_ssize_t lossy = 0;
    Py_BEGIN_ALLOW_THREADS
    failed = score_all(chars, ref_start, n, ntexts, stem, full, out, &lossy);
    Py_END_ALLOW_THREADS
    if (!failed) {
        PyObject *pair = Py_BuildValue("(Nn)", result, lossy);
        result = pair; /* NULL on failure; result's reference went to the tuple */
        if (!result)
            goto done;
    }
    if (failed) {
        Py_CLEAR(result);
        PyErr_NoMemory();
    }
done:
    if (keep) {
        for (Py_ssize_t i = 0; i < ntexts; i++)
            Py_XDECREF(keep[i]);
    }
    free(keep);
    free(chars);
    free(ref_start);
    Py_DECREF(pseq);
    Py_DECREF(rseq);
    return result;
}

PyDoc_STRVAR(stem_doc,
"stem(word) -> str\n\n"
"The Porter stem of a lowercase ASCII word, as nltk's PorterStemmer() (default mode) returns it.");

static PyObject *py_stem(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg) || !PyUnicode_IS_ASCII(arg)) {
        PyErr_SetString(PyExc_ValueError, "stem() takes an ASCII str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    const char *s = (const char *)PyUnicode_DATA(arg);
    char *buf = malloc((size_t)n + 8);
    if (!buf)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    int m = porter_stem(buf, (int)n);
    PyObject *out = PyUnicode_FromStringAndSize(buf, m);
    free(buf);
    return out;
}

static PyMethodDef methods[] = {
    {"rouge", (PyCFunction)(void (*)(void))py_rouge, METH_VARARGS | METH_KEYWORDS, rouge_doc},
    {"stem", py_stem, METH_O, stem_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_engine",
    "bench's ROUGE engine in C (see bench/metrics/rouge/compiled.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

#ifndef BENCH_ENGINE_SOURCE_SHA256
#define BENCH_ENGINE_SOURCE_SHA256 ""
#endif

PyMODINIT_FUNC PyInit__engine(void)
{
    init_keep();
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    /* the sha256 of the source it was built from: bench refuses a module built from an older source */
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", BENCH_ENGINE_SOURCE_SHA256)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
