/*
 * bench._native: bench's ROUGE scorer and bootstrap gather in C.
 *
 * The numbers are those of bench's pure-Python scorer (bench/metrics/rouge.py,
 * itself held to rouge_score 0.1.2) bit for bit, and those of numpy's
 * x[idx].mean(axis=1) for the bootstrap; tests/metrics/test_native.py holds
 * both. What the Python modules document holds here; only the data structures
 * differ:
 *
 *  - a text is tokenized once: lowercased (str.lower() for non-ASCII text,
 *    called before the GIL is released), runs of characters outside [a-z0-9]
 *    separate tokens, "\n" also ends a sentence (ROUGE-Lsum);
 *  - each distinct word is stemmed once per call (Porter, the rules of nltk's
 *    PorterStemmer() in its default mode, as bench/metrics/porter.py states
 *    them) and tokens become integer ids, so the scores compare integers;
 *  - ROUGE-1 counts shared ids in arrays indexed by id, ROUGE-2 in a small
 *    hash table of id pairs;
 *  - LCS lengths are bit-parallel (Hyyro 2004) over 64-bit words: v' = (v + u)
 *    | (v & ~u) with u = v & match-mask (u is a subset of v, so v - u never
 *    borrows); ROUGE-Lsum's backtrack reads L[i][j] = i - popcount of the low i
 *    bits of column j, and takes the steps of rouge_score's _backtrack_norec.
 *
 * The scoring runs without the GIL, so bench scores chunks of a batch in
 * threads, one per core.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* GCC on x86-64 Linux: a POPCNT build of the scoring loop beside the baseline one, chosen at load time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
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

static PyObject *py_rouge(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"predictions", "references", "stem", "full", NULL};
    PyObject *preds, *refs;
    int stem, full = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOp|p", kwlist, &preds, &refs, &stem, &full))
        return NULL;
    PyObject *pseq = PySequence_Fast(preds, "predictions must be a sequence");
    if (!pseq)
        return NULL;
    PyObject *rseq = PySequence_Fast(refs, "references must be a sequence");
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
        PyObject *rs = PySequence_Fast(rlist, "each example's references must be a sequence of str");
        if (!rs)
            goto done;
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

/* -------------------------------------------------------------- bootstrap */

/* The sums of k rows (k <= KMAX) over the indices idx, each as numpy sums a contiguous float64 row
 * (numpy/_core/src/umath/loops_utils.h.src, pairwise summation, PW_BLOCKSIZE 128): below 8 values a plain
 * loop; up to 128, eight accumulators then the rest; above, split at n/2 rounded down to a multiple of 8.
 * Reproduced so that the means are numpy's bit for bit. The rows are side by side, xt[i * k + r] = x[r][i]:
 * each index is read once for all of them. */
#define KMAX 16

static void pairwise_rows(const double *xt, Py_ssize_t k, const int32_t *idx32, const int64_t *idx64,
                          Py_ssize_t n, double *res)
{
#define IDX(i) (idx32 ? (Py_ssize_t)idx32[i] : (Py_ssize_t)idx64[i])
    if (n < 8) {
        for (Py_ssize_t r = 0; r < k; r++)
            res[r] = 0.;
        for (Py_ssize_t i = 0; i < n; i++) {
            const double *v = xt + IDX(i) * k;
            for (Py_ssize_t r = 0; r < k; r++)
                res[r] += v[r];
        }
        return;
    }
    if (n <= 128) {
        double acc[8][KMAX];
        for (int a = 0; a < 8; a++) {
            const double *v = xt + IDX(a) * k;
            for (Py_ssize_t r = 0; r < k; r++)
                acc[a][r] = v[r];
        }
        Py_ssize_t i;
        for (i = 8; i < n - (n % 8); i += 8) {
            for (int a = 0; a < 8; a++) {
                const double *v = xt + IDX(i + a) * k;
                for (Py_ssize_t r = 0; r < k; r++)
                    acc[a][r] += v[r];
            }
        }
        for (Py_ssize_t r = 0; r < k; r++)
            res[r] = ((acc[0][r] + acc[1][r]) + (acc[2][r] + acc[3][r]))
                     + ((acc[4][r] + acc[5][r]) + (acc[6][r] + acc[7][r]));
        for (; i < n; i++) {
            const double *v = xt + IDX(i) * k;
            for (Py_ssize_t r = 0; r < k; r++)
                res[r] += v[r];
        }
        return;
    }
#undef IDX
    Py_ssize_t n2 = n / 2;
    n2 -= n2 % 8;
    double right[KMAX];
    pairwise_rows(xt, k, idx32, idx64, n2, res);
    pairwise_rows(xt, k, idx32 ? idx32 + n2 : NULL, idx64 ? idx64 + n2 : NULL, n - n2, right);
    for (Py_ssize_t r = 0; r < k; r++)
        res[r] = res[r] + right[r];
}

/* x (k, n) laid out for pairwise_rows, in groups of at most KMAX rows: group g (rows g .. g + KMAX - 1)
 * starts at xt + g * n. */
static void rows_side_by_side(const double *x, Py_ssize_t k, Py_ssize_t n, double *xt)
{
    for (Py_ssize_t g = 0; g < k; g += KMAX) {
        Py_ssize_t kg = k - g < KMAX ? k - g : KMAX;
        for (Py_ssize_t r = 0; r < kg; r++)
            for (Py_ssize_t i = 0; i < n; i++)
                xt[g * n + i * kg + r] = x[(g + r) * n + i];
    }
}

/* out[r * m + col] = the mean of row r over the n indices idx (xt from rows_side_by_side), as numpy's mean:
 * add.reduce starts from its identity, 0.0, and the sum is divided by the count. */
static void resample_means(const double *xt, Py_ssize_t k, Py_ssize_t n, const int32_t *idx32,
                           const int64_t *idx64, double *out, Py_ssize_t m, Py_ssize_t col)
{
    double sums[KMAX];
    for (Py_ssize_t g = 0; g < k; g += KMAX) {
        Py_ssize_t kg = k - g < KMAX ? k - g : KMAX;
        pairwise_rows(xt + g * n, kg, idx32, idx64, n, sums);
        for (Py_ssize_t r = 0; r < kg; r++)
            out[(g + r) * m + col] = (0.0 + sums[r]) / (double)n;
    }
}

PyDoc_STRVAR(gather_means_doc,
"gather_means(x, idx, out, col_start) -> None\n\n"
"For x (k, n) float64, idx (b, n) int32 or int64 indices into a row and out (k, m) float64,\n"
"all C-contiguous: out[r, col_start + s] = x[r][idx[s]].mean(), summed as numpy sums a\n"
"contiguous row (pairwise), so numpy's x[r][idx].mean(axis=1) bit for bit. The GIL is released.");

static PyObject *py_gather_means(PyObject *self, PyObject *args)
{
    PyObject *xo, *io, *oo;
    Py_ssize_t col_start;
    if (!PyArg_ParseTuple(args, "OOOn", &xo, &io, &oo, &col_start))
        return NULL;
    Py_buffer xb, ib, ob;
    if (PyObject_GetBuffer(xo, &xb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT))
        return NULL;
    if (PyObject_GetBuffer(io, &ib, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) {
        PyBuffer_Release(&xb);
        return NULL;
    }
    if (PyObject_GetBuffer(oo, &ob, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE)) {
        PyBuffer_Release(&xb);
        PyBuffer_Release(&ib);
        return NULL;
    }
    PyObject *ret = NULL;
    Py_ssize_t isize = ib.itemsize;
    const char *ifmt = ib.format ? ib.format : "B";
    if (*ifmt == '<' || *ifmt == '=' || *ifmt == '@')
        ifmt++;
    int int_ok = (isize == 4 || isize == 8) && strchr("ilq", *ifmt) != NULL && ifmt[1] == 0;
    if (xb.ndim != 2 || ib.ndim != 2 || ob.ndim != 2 || xb.itemsize != 8 || ob.itemsize != 8 || !int_ok
        || !xb.format || strcmp(xb.format, "d") || !ob.format || strcmp(ob.format, "d")) {
        PyErr_SetString(PyExc_ValueError,
                        "gather_means: x (k, n) and out (k, m) must be float64, idx (b, n) int32 or int64");
        goto out;
    }
    Py_ssize_t k = xb.shape[0], n = xb.shape[1], b = ib.shape[0], m = ob.shape[1];
    if (ib.shape[1] != n || ob.shape[0] != k || col_start < 0 || col_start + b > m || n == 0) {
        PyErr_SetString(PyExc_ValueError, "gather_means: shapes do not agree");
        goto out;
    }
    const double *x = (const double *)xb.buf;
    double *o = (double *)ob.buf;
    double *xt = malloc(sizeof(double) * (size_t)(k * n));
    if (!xt) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    rows_side_by_side(x, k, n, xt);
    for (Py_ssize_t s = 0; s < b; s++)
        resample_means(xt, k, n, isize == 4 ? (const int32_t *)ib.buf + s * n : NULL,
                       isize == 8 ? (const int64_t *)ib.buf + s * n : NULL, o, m, col_start + s);
    Py_END_ALLOW_THREADS
    free(xt);
    ret = Py_None;
    Py_INCREF(ret);
out:
    PyBuffer_Release(&xb);
    PyBuffer_Release(&ib);
    PyBuffer_Release(&ob);
    return ret;
}

/* ------------------------------------------------------- bootstrap draws */

/* numpy's Generator(PCG64).integers(0, n, dtype=int32), reproduced: PCG64 (XSL-RR 128/64; numpy/random/src/
 * pcg64/pcg64.h), its next_uint32 (the high half of a 64-bit output kept for the next call), and Lemire's
 * bounded integers with rejection (numpy/random/src/distributions/distributions.c,
 * buffered_bounded_lemire_uint32). bench checks the first resample against numpy's own draw before using it
 * (bench/metrics/bootstrap.py), and tests/metrics/test_native.py checks whole streams. */
typedef struct {
    uint64_t hi, lo;    /* 128-bit state */
    uint64_t inc_hi, inc_lo;
    int has_uint32;
    uint32_t uinteger;
} Pcg64;

static const uint64_t PCG_MULT_HI = 2549297995355413924ULL, PCG_MULT_LO = 4865540595714422341ULL;

static inline void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
#if defined(__SIZEOF_INT128__)
    __uint128_t p = (__uint128_t)a * b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
#else
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *lo = (mid << 32) | (uint32_t)p00;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

static inline uint64_t pcg64_next64(Pcg64 *g)
{
    /* state = state * MULT + inc (mod 2^128) */
    uint64_t hi, lo;
    mul_64x64(g->lo, PCG_MULT_LO, &hi, &lo);
    hi += g->hi * PCG_MULT_LO + g->lo * PCG_MULT_HI;
    uint64_t nlo = lo + g->inc_lo;
    hi += g->inc_hi + (nlo < lo);
    g->hi = hi;
    g->lo = nlo;
    uint64_t x = hi ^ nlo;
    unsigned rot = (unsigned)(hi >> 58);
    return (x >> rot) | (x << ((64 - rot) & 63));
}

static inline uint32_t pcg64_next32(Pcg64 *g)
{
    if (g->has_uint32) {
        g->has_uint32 = 0;
        return g->uinteger;
    }
    uint64_t next = pcg64_next64(g);
    g->has_uint32 = 1;
    g->uinteger = (uint32_t)(next >> 32);
    return (uint32_t)(next & 0xffffffffULL);
}

/* An integer in [0, rng], rng < 0xFFFFFFFF (Lemire 2019, as numpy draws it). */
static inline uint32_t bounded_lemire(Pcg64 *g, uint32_t rng)
{
    const uint32_t rng_excl = rng + 1;
    uint64_t m = (uint64_t)pcg64_next32(g) * rng_excl;
    uint32_t leftover = (uint32_t)(m & 0xFFFFFFFFULL);
    if (leftover < rng_excl) {
        const uint32_t threshold = (UINT32_MAX - rng) % rng_excl;
        while (leftover < threshold) {
            m = (uint64_t)pcg64_next32(g) * rng_excl;
            leftover = (uint32_t)(m & 0xFFFFFFFFULL);
        }
    }
    return (uint32_t)(m >> 32);
}

static void draw_indices(Pcg64 *g, Py_ssize_t n, int32_t *out)
{
    if (n == 1) { /* numpy draws nothing for a range of one value */
        out[0] = 0;
        return;
    }
    uint32_t rng = (uint32_t)(n - 1);
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (int32_t)bounded_lemire(g, rng);
}

static int parse_u128(PyObject *v, uint64_t *hi, uint64_t *lo)
{
    PyObject *mask = PyLong_FromUnsignedLongLong(0xFFFFFFFFFFFFFFFFULL);
    PyObject *sixty4 = PyLong_FromLong(64);
    PyObject *low = mask ? PyNumber_And(v, mask) : NULL;
    PyObject *high = sixty4 ? PyNumber_Rshift(v, sixty4) : NULL;
    int rc = -1;
    if (low && high) {
        *lo = PyLong_AsUnsignedLongLong(low);
        *hi = PyLong_AsUnsignedLongLong(high);
        rc = PyErr_Occurred() ? -1 : 0;
    }
    Py_XDECREF(mask);
    Py_XDECREF(sixty4);
    Py_XDECREF(low);
    Py_XDECREF(high);
    return rc;
}

PyDoc_STRVAR(integers_doc,
"integers(state, inc, has_uint32, uinteger, n, count) -> bytes\n\n"
"count int32 values of numpy's Generator(PCG64).integers(0, n, dtype=int32) from the given\n"
"PCG64 state (bit_generator.state), 1 <= n < 2**31.");

static PyObject *py_integers(PyObject *self, PyObject *args)
{
    PyObject *state, *inc;
    int has_uint32;
    unsigned long uinteger;
    Py_ssize_t n, count;
    if (!PyArg_ParseTuple(args, "OOpknn", &state, &inc, &has_uint32, &uinteger, &n, &count))
        return NULL;
    if (n < 1 || n > 0x7FFFFFFF || count < 0) {
        PyErr_SetString(PyExc_ValueError, "integers: 1 <= n < 2**31 and count >= 0");
        return NULL;
    }
    Pcg64 g;
    if (parse_u128(state, &g.hi, &g.lo) || parse_u128(inc, &g.inc_hi, &g.inc_lo))
        return NULL;
    g.has_uint32 = has_uint32;
    g.uinteger = (uint32_t)uinteger;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(int32_t) * count);
    if (!out)
        return NULL;
    int32_t *o = (int32_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++)
        o[i] = n == 1 ? 0 : (int32_t)bounded_lemire(&g, (uint32_t)(n - 1));
    return out;
}

PyDoc_STRVAR(bootstrap_means_doc,
"bootstrap_means(x, state, inc, has_uint32, uinteger, out, first_indices) -> None\n\n"
"The means of out.shape[1] bootstrap resamples of each row of x (k, n) float64, into out (k, b):\n"
"resample s uses the s-th row of numpy's Generator(PCG64).integers(0, n, size=(b, n)) from the\n"
"given PCG64 state (bit_generator.state), and each mean is summed as numpy sums a contiguous row.\n"
"first_indices (n int32, writable) receives the first resample's indices, for checking against numpy.\n"
"The GIL is released.");

static PyObject *py_bootstrap_means(PyObject *self, PyObject *args)
{
    PyObject *xo, *state, *inc, *oo, *fo;
    int has_uint32;
    unsigned long uinteger;
    if (!PyArg_ParseTuple(args, "OOOpkOO", &xo, &state, &inc, &has_uint32, &uinteger, &oo, &fo))
        return NULL;
    Pcg64 g;
    if (parse_u128(state, &g.hi, &g.lo) || parse_u128(inc, &g.inc_hi, &g.inc_lo))
        return NULL;
    g.has_uint32 = has_uint32;
    g.uinteger = (uint32_t)uinteger;
    Py_buffer xb, ob, fb;
    if (PyObject_GetBuffer(xo, &xb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT))
        return NULL;
    if (PyObject_GetBuffer(oo, &ob, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE)) {
        PyBuffer_Release(&xb);
        return NULL;
    }
    if (PyObject_GetBuffer(fo, &fb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE)) {
        PyBuffer_Release(&xb);
        PyBuffer_Release(&ob);
        return NULL;
    }
    PyObject *ret = NULL;
    double *xt = NULL;
    int32_t *idx = NULL;
    const char *ffmt = fb.format ? fb.format : "B";
    if (*ffmt == '<' || *ffmt == '=' || *ffmt == '@')
        ffmt++;
    if (xb.ndim != 2 || ob.ndim != 2 || xb.itemsize != 8 || ob.itemsize != 8 || !xb.format
        || strcmp(xb.format, "d") || !ob.format || strcmp(ob.format, "d") || fb.ndim != 1 || fb.itemsize != 4
        || strcmp(ffmt, "i")) {
        PyErr_SetString(PyExc_ValueError, "bootstrap_means: x (k, n) and out (k, b) must be float64, "
                                          "first_indices (n,) int32");
        goto out;
    }
    Py_ssize_t k = xb.shape[0], n = xb.shape[1], b = ob.shape[1];
    if (ob.shape[0] != k || fb.shape[0] != n || n < 1 || n > 0x7FFFFFFF || b < 1) {
        PyErr_SetString(PyExc_ValueError, "bootstrap_means: shapes do not agree");
        goto out;
    }
    const double *x = (const double *)xb.buf;
    double *o = (double *)ob.buf;
    xt = malloc(sizeof(double) * (size_t)(k * n));
    idx = malloc(sizeof(int32_t) * (size_t)n);
    if (!xt || !idx) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    rows_side_by_side(x, k, n, xt);
    for (Py_ssize_t s = 0; s < b; s++) {
        draw_indices(&g, n, idx);
        if (s == 0)
            memcpy(fb.buf, idx, sizeof(int32_t) * (size_t)n);
        resample_means(xt, k, n, idx, NULL, o, b, s);
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
out:
    free(xt);
    free(idx);
    PyBuffer_Release(&xb);
    PyBuffer_Release(&ob);
    PyBuffer_Release(&fb);
    return ret;
}

/* ------------------------------------------------------------ JSON lines */

/* The usual line of a score file, {"id": "...", "prediction": "...", "references": ["..."]}, parsed into the
 * dict json.loads gives. Only objects whose values are strings or lists of strings are taken, at the start
 * of a line and with nothing but JSON whitespace after them; anything else (numbers, nesting, an error of
 * any kind, invalid UTF-8, a control character in a string, an unknown escape) gives None, and bench reads
 * that line with Python's json, whose messages and results stay the reference. */

static inline const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end, Py_UCS4 *out)
{
    if (end - p < 4)
        return -1;
    Py_UCS4 v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (Py_UCS4)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (Py_UCS4)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (Py_UCS4)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, Py_UCS4 cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) { /* lone surrogates too: read back with "surrogatepass" */
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The bytes a string's scan stops at: the closing quote, a backslash, a control character (refused), and
 * 0xED (which may start an encoded surrogate). */
static unsigned char STRING_SPECIAL[256];

static void init_string_special(void)
{
    for (int c = 0; c < 256; c++)
        STRING_SPECIAL[c] = c < 0x20 || c == '"' || c == '\\' || c == 0xED;
}

/* A JSON string at p (its opening quote): the str, *next after its closing quote; NULL to give up (no
 * Python error set). */
static PyObject *json_string(const char *p, const char *end, const char **next)
{
    const char *q = p + 1;
    int escaped = 0;
    for (;;) {
        while (q < end && !STRING_SPECIAL[(unsigned char)*q])
            q++;
        if (q >= end || *q == '"')
            break;
        unsigned char c = (unsigned char)*q;
        if (c < 0x20)
            return NULL; /* json refuses a raw control character */
        if (c == '\\') {
            escaped = 1;
            q += 2;
            continue;
        }
        /* an encoded surrogate (ED A0..BF ..) is not UTF-8: the file's own decoding reports it */
        if (c == 0xED && q + 1 < end && (unsigned char)q[1] >= 0xA0)
            return NULL;
        q++;
    }
    if (q >= end)
        return NULL;
    *next = q + 1;
    if (!escaped) {
        PyObject *s = PyUnicode_DecodeUTF8(p + 1, q - (p + 1), NULL);
        if (!s)
            PyErr_Clear();
        return s;
    }
    /* escapes never make a string longer: \uXXXX (6 bytes) is at most 3 bytes of UTF-8, a pair (12) 4 */
    char *buf = PyMem_Malloc((size_t)(q - p) + 4);
    if (!buf)
        return NULL;
    size_t n = 0;
    const char *r = p + 1;
    while (r < q) {
        if (*r != '\\') {
            buf[n++] = *r++;
            continue;
        }
        char e = r[1];
        Py_UCS4 cp;
        r += 2;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u':
            if (hex4(r, q, &cp)) {
                PyMem_Free(buf);
                return NULL;
            }
            r += 4;
            /* a high surrogate followed by an escaped low one is one character, as json reads it */
            if (cp >= 0xD800 && cp <= 0xDBFF && q - r >= 6 && r[0] == '\\' && r[1] == 'u') {
                Py_UCS4 low;
                if (!hex4(r + 2, q, &low) && low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + (((cp - 0xD800) << 10) | (low - 0xDC00));
                    r += 6;
                }
            }
            n += put_utf8(buf + n, cp);
            break;
        default:
            PyMem_Free(buf);
            return NULL;
        }
    }
    PyObject *s = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)n, "surrogatepass");
    PyMem_Free(buf);
    if (!s)
        PyErr_Clear();
    return s;
}

/* One line [p, end) that starts with '{': the dict, or NULL to give up (Py_None is not returned here). */
static PyObject *json_line(const char *p, const char *end, PyObject *keys)
{
    PyObject *obj = PyDict_New();
    if (!obj)
        return NULL;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        goto close;
    }
    for (;;) {
        if (p >= end || *p != '"')
            goto fail;
        const char *after;
        PyObject *key = json_string(p, end, &after);
        if (!key)
            goto fail;
        /* one str object per distinct key, as json's scanner memoizes them */
        PyObject *known = PyDict_SetDefault(keys, key, key);
        Py_XINCREF(known);
        Py_DECREF(key);
        if (!known)
            goto fail;
        key = known;
        p = skip_space(after, end);
        if (p >= end || *p != ':') {
            Py_DECREF(key);
            goto fail;
        }
        p = skip_space(p + 1, end);
        PyObject *value = NULL;
        if (p < end && *p == '"') {
            value = json_string(p, end, &after);
            p = after;
        }
        else if (p < end && *p == '[') {
            value = PyList_New(0);
            p = skip_space(p + 1, end);
            if (value && p < end && *p == ']') {
                p++;
            }
            else {
                while (value) {
                    if (p >= end || *p != '"') {
                        Py_CLEAR(value);
                        break;
                    }
                    PyObject *item = json_string(p, end, &after);
                    if (!item || PyList_Append(value, item)) {
                        Py_XDECREF(item);
                        Py_CLEAR(value);
                        break;
                    }
                    Py_DECREF(item);
                    p = skip_space(after, end);
                    if (p < end && *p == ',') {
                        p = skip_space(p + 1, end);
                        continue;
                    }
                    if (p < end && *p == ']') {
                        p++;
                        break;
                    }
                    Py_CLEAR(value);
                }
            }
        }
        if (!value || PyDict_SetItem(obj, key, value)) {
            Py_XDECREF(value);
            Py_DECREF(key);
            goto fail;
        }
        Py_DECREF(value);
        Py_DECREF(key);
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        goto fail;
    }
close:
    if (skip_space(p, end) != end)
        goto fail; /* more than one value on the line */
    return obj;
fail:
    Py_DECREF(obj);
    PyErr_Clear();
    return NULL;
}

PyDoc_STRVAR(jsonl_objects_doc,
"jsonl_objects(data) -> list\n\n"
"For each \"\\n\"-separated line of data (bytes), the dict json.loads would give when the line is an\n"
"object of strings and lists of strings starting at the line's first byte, and None for any other line\n"
"(to be read by json, which also reports its errors).");

static PyObject *py_jsonl_objects(PyObject *self, PyObject *arg)
{
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE))
        return NULL;
    PyObject *out = PyList_New(0);
    PyObject *keys = PyDict_New();
    if (!out || !keys)
        goto error;
    const char *p = (const char *)b.buf, *end = p + b.len;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        PyObject *obj = (p < stop && *p == '{') ? json_line(p, stop, keys) : NULL;
        if (PyErr_Occurred())
            goto error;
        if (!obj) {
            obj = Py_None;
            Py_INCREF(obj);
        }
        if (PyList_Append(out, obj)) {
            Py_DECREF(obj);
            goto error;
        }
        Py_DECREF(obj);
        if (!nl)
            break;
        p = nl + 1;
    }
    Py_DECREF(keys);
    PyBuffer_Release(&b);
    return out;
error:
    Py_XDECREF(out);
    Py_XDECREF(keys);
    PyBuffer_Release(&b);
    return NULL;
}

static PyMethodDef methods[] = {
    {"rouge", (PyCFunction)(void (*)(void))py_rouge, METH_VARARGS | METH_KEYWORDS, rouge_doc},
    {"stem", py_stem, METH_O, stem_doc},
    {"gather_means", py_gather_means, METH_VARARGS, gather_means_doc},
    {"bootstrap_means", py_bootstrap_means, METH_VARARGS, bootstrap_means_doc},
    {"integers", py_integers, METH_VARARGS, integers_doc},
    {"jsonl_objects", py_jsonl_objects, METH_O, jsonl_objects_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "bench's C extension: ROUGE, the bootstrap's means, JSON lines (see bench/native.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

#ifndef BENCH_NATIVE_SOURCE_SHA256
#define BENCH_NATIVE_SOURCE_SHA256 ""
#endif

PyMODINIT_FUNC PyInit__native(void)
{
    init_keep();
    init_string_special();
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    /* the sha256 of the source it was built from: bench refuses a module built from an older source */
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", BENCH_NATIVE_SOURCE_SHA256)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
