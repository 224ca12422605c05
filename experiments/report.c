#include "experiments/report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/quote.h"
#include "core/npy.h"
#include "experiments/plot.h"
#include "experiments/table.h"

/* ---- the document ------------------------------------------------------------------------------------------
 * The report is first described as blocks (headings, paragraphs, list items, tables, preformatted text, the
 * figures), then written three times by three renderers. Text is a list of segments: plain text and code
 * (escaped by each renderer for its format; the results' text is user text everywhere) and significance
 * marks (a dagger for the reference, a double dagger for the best method; each format has its own form). */

enum { S_TEXT, S_CODE, S_MARK };
typedef struct seg {
    int kind;
    char *s;   /* S_TEXT, S_CODE */
    int marks; /* S_MARK: MARK_REF | MARK_BEST */
} seg;

typedef struct rich {
    int n;
    seg *v;
} rich;

enum { MARK_REF = 1, MARK_BEST = 2 };

/* Table cells: user or project text, a number already formatted, or a statistic (mean, std, 95% CI
 * half-width) formatted by each renderer, with its marks. */
enum { C_EMPTY, C_TEXT, C_NUM, C_STAT };
typedef struct rcell {
    int kind;
    char *s;
    double mean, sd, ci; /* C_STAT; ci NaN when not recorded */
    int marks;
} rcell;

typedef struct rtable {
    const char *id; /* the LaTeX label and the HTML id */
    rich caption;
    int ncols;
    const char **head; /* project text; "λ" is written $\lambda$ in LaTeX */
    int *right;        /* right-aligned columns */
    int nrows;
    rcell *cells; /* nrows x ncols */
    unsigned char *hl; /* per row: highlighted in the page (the selected groups of the sweep) */
    int nnotes;
    rich *notes;
} rtable;

enum { B_H2, B_PARA, B_ITEM, B_TABLE, B_PRE, B_FIGURES };
typedef struct block {
    int kind;
    rich text;
    rtable *table;
    char *pre;
} block;

typedef struct figure {
    char *name; /* file name without .svg */
    char *svg;  /* the SVG element, ids made unique in the page */
} figure;

typedef struct doc {
    char *title;
    int n;
    block *v;
    int nfig;
    figure *fig;
} doc;

static void r_add(rich *r, int kind, char *s, int marks)
{
    r->v = cl_realloc(r->v, sizeof(seg) * (size_t)(r->n + 1));
    r->v[r->n++] = (seg){kind, s, marks};
}

static char *vfmt(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *s = cl_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static void r_text(rich *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void r_text(rich *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r_add(r, S_TEXT, vfmt(fmt, ap), 0);
    va_end(ap);
}

static void r_code(rich *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void r_code(rich *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r_add(r, S_CODE, vfmt(fmt, ap), 0);
    va_end(ap);
}

static void r_mark(rich *r, int marks) { r_add(r, S_MARK, NULL, marks); }

static void r_free(rich *r)
{
    for (int i = 0; i < r->n; i++) free(r->v[i].s);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static block *d_add(doc *d, int kind)
{
    d->v = cl_realloc(d->v, sizeof(block) * (size_t)(d->n + 1));
    block *b = &d->v[d->n++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    return b;
}

static rich *d_h2(doc *d, const char *title)
{
    block *b = d_add(d, B_H2);
    r_text(&b->text, "%s", title);
    return &b->text;
}

static rich *d_para(doc *d) { return &d_add(d, B_PARA)->text; }
static rich *d_item(doc *d) { return &d_add(d, B_ITEM)->text; }

static rtable *t_new(const char *id, int ncols, const char *const *head, const int *right)
{
    rtable *t = cl_calloc(1, sizeof *t);
    t->id = id;
    t->ncols = ncols;
    t->head = cl_malloc(sizeof(char *) * (size_t)ncols);
    t->right = cl_malloc(sizeof(int) * (size_t)ncols);
    for (int c = 0; c < ncols; c++) t->head[c] = head[c], t->right[c] = right[c];
    return t;
}

static rcell *t_row(rtable *t)
{
    t->cells = cl_realloc(t->cells, sizeof(rcell) * (size_t)(t->nrows + 1) * (size_t)t->ncols);
    t->hl = cl_realloc(t->hl, (size_t)t->nrows + 1);
    t->hl[t->nrows] = 0;
    rcell *row = &t->cells[(size_t)t->nrows * (size_t)t->ncols];
    memset(row, 0, sizeof(rcell) * (size_t)t->ncols);
    t->nrows++;
    return row;
}

static rich *t_note(rtable *t)
{
    t->notes = cl_realloc(t->notes, sizeof(rich) * (size_t)(t->nnotes + 1));
    memset(&t->notes[t->nnotes], 0, sizeof(rich));
    return &t->notes[t->nnotes++];
}

static void c_text(rcell *c, const char *s)
{
    c->kind = C_TEXT;
    c->s = cl_strdup(s);
}

static void c_num(rcell *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void c_num(rcell *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->kind = C_NUM;
    c->s = vfmt(fmt, ap);
    va_end(ap);
}

static void t_free(rtable *t)
{
    if (!t) return;
    for (long i = 0; i < (long)t->nrows * t->ncols; i++) free(t->cells[i].s);
    free(t->cells);
    free(t->hl);
    for (int i = 0; i < t->nnotes; i++) r_free(&t->notes[i]);
    free(t->notes);
    r_free(&t->caption);
    free(t->head);
    free(t->right);
    free(t);
}

static void d_free(doc *d)
{
    for (int i = 0; i < d->n; i++) {
        r_free(&d->v[i].text);
        t_free(d->v[i].table);
        free(d->v[i].pre);
    }
    free(d->v);
    for (int i = 0; i < d->nfig; i++) free(d->fig[i].name), free(d->fig[i].svg);
    free(d->fig);
    free(d->title);
    memset(d, 0, sizeof *d);
}

/* ---- escaping ----------------------------------------------------------------------------------------------
 * User text may hold anything a CSV field can: markup, TeX specials, control bytes, invalid UTF-8. Each
 * renderer walks it one character at a time: valid UTF-8 beyond ASCII is kept (the pages are UTF-8), an
 * invalid byte becomes '?' and a control byte a blank, so every file stays valid UTF-8 text on its lines. */

enum { F_MD, F_HTML, F_TEX };

/* Append s escaped for format f. In LaTeX the few non-ASCII characters the project itself writes (λ ± × –
 * † ‡) become commands, so the tables compile with pdflatex's default input encoding; other characters are
 * left to the document's. */
static void esc(cl_buf *b, int f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = cl_utf8_len(p);
        if (n == 0) {
            cl_buf_printf(b, "?");
            p++;
            continue;
        }
        if (n > 1) {
            static const char *const tex[][2] = {{"λ", "$\\lambda$"}, {"±", "$\\pm$"},      {"×", "$\\times$"},
                                                 {"–", "--"},         {"†", "$^\\dagger$"}, {"‡", "$^\\ddagger$"}};
            const char *rep = NULL;
            for (size_t i = 0; f == F_TEX && i < sizeof tex / sizeof tex[0]; i++)
                if (!strncmp((const char *)p, tex[i][0], (size_t)n) && strlen(tex[i][0]) == (size_t)n) rep = tex[i][1];
            if (rep) cl_buf_printf(b, "%s", rep);
            else cl_buf_printf(b, "%.*s", n, (const char *)p);
            p += n;
            continue;
        }
        unsigned char c = *p++;
        if (c < 0x20 || c == 0x7f) {
            cl_buf_printf(b, " ");
            continue;
        }
        const char *rep = NULL;
        if (f == F_HTML || f == F_MD) {
            /* Markdown passes HTML through, so markup in a label must not survive there either */
            if (c == '&') rep = "&amp;";
            else if (c == '<') rep = "&lt;";
            else if (c == '>') rep = "&gt;";
            else if (f == F_HTML && c == '"') rep = "&quot;";
            else if (f == F_HTML && c == '\'') rep = "&#39;";
        }
        if (f == F_MD && strchr("\\`*_[]|#~$", c)) {
            cl_buf_printf(b, "\\%c", c);
            continue;
        }
        if (f == F_TEX) switch (c) {
            case '\\': rep = "\\textbackslash{}"; break;
            case '{': rep = "\\{"; break;
            case '}': rep = "\\}"; break;
            case '$': rep = "\\$"; break;
            case '&': rep = "\\&"; break;
            case '#': rep = "\\#"; break;
            case '%': rep = "\\%"; break;
            case '_': rep = "\\_"; break;
            case '~': rep = "\\textasciitilde{}"; break;
            case '^': rep = "\\textasciicircum{}"; break;
            case '<': rep = "\\textless{}"; break;
            case '>': rep = "\\textgreater{}"; break;
            case '|': rep = "\\textbar{}"; break;
            default: break;
            }
        if (rep) cl_buf_printf(b, "%s", rep);
        else cl_buf_printf(b, "%c", c);
    }
}

/* A Markdown code span: its fence is one backtick longer than the longest run inside (CommonMark), and
 * control bytes are blanks (a code span cannot hold a line break). */
static void md_code(cl_buf *b, const char *s)
{
    int run = 0, longest = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    /* padded with a blank only when the text starts or ends with a backtick (CommonMark strips one) */
    size_t len = strlen(s);
    int pad = longest > 0 && (s[0] == '`' || s[len - 1] == '`');
    for (int i = 0; i <= longest; i++) cl_buf_printf(b, "`");
    if (pad) cl_buf_printf(b, " ");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = cl_utf8_len(p);
        if (n == 0) cl_buf_printf(b, "?"), p++;
        else if (n == 1 && (*p < 0x20 || *p == 0x7f)) cl_buf_printf(b, " "), p++;
        else cl_buf_printf(b, "%.*s", n, (const char *)p), p += n;
    }
    if (pad) cl_buf_printf(b, " ");
    for (int i = 0; i <= longest; i++) cl_buf_printf(b, "`");
}

static void marks_out(cl_buf *b, int f, int marks)
{
    if (!marks) return;
    if (f == F_MD) cl_buf_printf(b, "%s%s", marks & MARK_REF ? "†" : "", marks & MARK_BEST ? "‡" : "");
    else if (f == F_HTML)
        cl_buf_printf(b, "<sup class=\"mark\">%s%s</sup>", marks & MARK_REF ? "&dagger;" : "",
                      marks & MARK_BEST ? "&Dagger;" : "");
    else cl_buf_printf(b, "$^{%s%s}$", marks & MARK_REF ? "\\dagger" : "", marks & MARK_BEST ? "\\ddagger" : "");
}

static void rich_out(cl_buf *b, int f, const rich *r)
{
    for (int i = 0; i < r->n; i++) {
        const seg *s = &r->v[i];
        if (s->kind == S_MARK) marks_out(b, f, s->marks);
        else if (s->kind == S_TEXT) esc(b, f, s->s);
        else if (f == F_MD) md_code(b, s->s);
        else if (f == F_HTML) cl_buf_printf(b, "<code>"), esc(b, f, s->s), cl_buf_printf(b, "</code>");
        else cl_buf_printf(b, "\\texttt{"), esc(b, f, s->s), cl_buf_printf(b, "}");
    }
}

/* A statistic: "0.775 ± 0.024", with " [0.715, 0.835]" (mean ± the 95% CI half-width) when recorded, and
 * its marks; "n/a" for a mean that does not exist (BWT of one task, every cell diverged). Three decimals, as
 * the README's tables. */
static void stat_out(cl_buf *b, int f, const rcell *c)
{
    if (!isfinite(c->mean)) {
        cl_buf_printf(b, "%s", f == F_TEX ? "--" : "n/a");
        marks_out(b, f, c->marks);
        return;
    }
    const char *pm = f == F_TEX ? " \\pm " : f == F_HTML ? "&nbsp;&plusmn;&nbsp;" : " ± ";
    if (f == F_TEX) cl_buf_printf(b, "$");
    cl_buf_printf(b, "%.3f", c->mean);
    if (isfinite(c->sd)) cl_buf_printf(b, "%s%.3f", pm, c->sd);
    if (f == F_TEX) {
        if (c->marks) cl_buf_printf(b, "^{%s%s}", c->marks & MARK_REF ? "\\dagger" : "", c->marks & MARK_BEST ? "\\ddagger" : "");
        cl_buf_printf(b, "$");
    } else
        marks_out(b, f, c->marks);
    if (isfinite(c->ci)) {
        if (f == F_HTML) cl_buf_printf(b, " <span class=\"ci\">[%.3f, %.3f]</span>", c->mean - c->ci, c->mean + c->ci);
        else if (f == F_TEX) cl_buf_printf(b, "~[$%.3f$,~$%.3f$]", c->mean - c->ci, c->mean + c->ci);
        else cl_buf_printf(b, " [%.3f, %.3f]", c->mean - c->ci, c->mean + c->ci);
    }
}

static void cell_out(cl_buf *b, int f, const rcell *c)
{
    if (c->kind == C_STAT) stat_out(b, f, c);
    else if (c->kind == C_TEXT || c->kind == C_NUM) {
        /* numbers are checked numbers or formatted here: Markdown needs no escapes in them (its brackets would
         * show), and a negative one in LaTeX text would print a hyphen */
        if (f == F_TEX && c->kind == C_NUM && c->s[0] == '-') cl_buf_printf(b, "$-$"), esc(b, f, c->s + 1);
        else if (f == F_MD && c->kind == C_NUM) cl_buf_printf(b, "%s", c->s);
        else esc(b, f, c->s);
        marks_out(b, f, c->marks);
    }
}

/* ---- Markdown ------------------------------------------------------------------------------------------- */

static void md_table(cl_buf *b, const rtable *t)
{
    if (t->caption.n) {
        cl_buf_printf(b, "*");
        rich_out(b, F_MD, &t->caption);
        cl_buf_printf(b, "*\n\n");
    }
    cl_buf_printf(b, "|");
    for (int c = 0; c < t->ncols; c++) cl_buf_printf(b, " %s |", t->head[c]);
    cl_buf_printf(b, "\n|");
    for (int c = 0; c < t->ncols; c++) cl_buf_printf(b, "%s|", t->right[c] ? "---:" : "---");
    cl_buf_printf(b, "\n");
    for (int r = 0; r < t->nrows; r++) {
        cl_buf_printf(b, "|");
        for (int c = 0; c < t->ncols; c++) {
            cl_buf_printf(b, " ");
            cell_out(b, F_MD, &t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            cl_buf_printf(b, " |");
        }
        cl_buf_printf(b, "\n");
    }
    for (int i = 0; i < t->nnotes; i++) {
        cl_buf_printf(b, "\n");
        rich_out(b, F_MD, &t->notes[i]);
        cl_buf_printf(b, "\n");
    }
}

static void md_doc(cl_buf *b, const doc *d)
{
    cl_buf_printf(b, "# ");
    esc(b, F_MD, d->title);
    cl_buf_printf(b, "\n");
    int prev = -1;
    for (int i = 0; i < d->n; i++) {
        const block *k = &d->v[i];
        if (!(k->kind == B_ITEM && prev == B_ITEM)) cl_buf_printf(b, "\n");
        switch (k->kind) {
        case B_H2: cl_buf_printf(b, "## "), rich_out(b, F_MD, &k->text), cl_buf_printf(b, "\n"); break;
        case B_PARA: rich_out(b, F_MD, &k->text), cl_buf_printf(b, "\n"); break;
        case B_ITEM: cl_buf_printf(b, "- "), rich_out(b, F_MD, &k->text), cl_buf_printf(b, "\n"); break;
        case B_TABLE: md_table(b, k->table); break;
        case B_PRE: {
            /* a fence longer than any run of backticks inside */
            int run = 0, longest = 2;
            for (const char *p = k->pre; *p; p++) {
                run = *p == '`' ? run + 1 : 0;
                if (run > longest) longest = run;
            }
            for (int j = 0; j <= longest; j++) cl_buf_printf(b, "`");
            cl_buf_printf(b, "\n");
            const unsigned char *p = (const unsigned char *)k->pre;
            while (*p) {
                int n = cl_utf8_len(p);
                if (n == 0) cl_buf_printf(b, "?"), p++;
                else if (n == 1 && ((*p < 0x20 && *p != '\n') || *p == 0x7f)) cl_buf_printf(b, " "), p++;
                else cl_buf_printf(b, "%.*s", n, (const char *)p), p += n;
            }
            if (b->len && b->s[b->len - 1] != '\n') cl_buf_printf(b, "\n");
            for (int j = 0; j <= longest; j++) cl_buf_printf(b, "`");
            cl_buf_printf(b, "\n");
            break;
        }
        case B_FIGURES:
            cl_buf_printf(b, "The %d figures are inline in report.html (`clreg plot` draws them as PNG and SVG files "
                             "into the results directory's plots/).\n", d->nfig);
            break;
        default: break;
        }
        prev = k->kind;
    }
}

/* ---- HTML ------------------------------------------------------------------------------------------------ */

static const char *const CSS =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:15px;color:#1a1a1a;background:#fff;"
    "max-width:1150px;margin:1.5em auto;padding:0 1em;line-height:1.45}\n"
    "h1{font-size:1.6em;border-bottom:2px solid #333;padding-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;"
    "border-bottom:1px solid #bbb}\n"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.92em}caption{caption-side:top;text-align:left;"
    "font-style:italic;padding:.3em 0}\n"
    "th,td{padding:.25em .7em;border-bottom:1px solid #ddd;vertical-align:top}th{border-bottom:2px solid #333;"
    "text-align:left}\n"
    "td.r,th.r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.sel td{background:#f3f7ff}td:first-child{white-space:nowrap}\n"
    ".ci{color:#555}.mark{color:#b00020;font-weight:bold}.note{font-size:.9em;color:#333}\n"
    "code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:.9em}pre{background:#f6f6f6;padding:.7em;"
    "overflow-x:auto;white-space:pre-wrap}\n"
    "figure{margin:1.2em 0;border:1px solid #e4e4e4;padding:.4em}figure svg{display:block;width:100%;"
    "max-width:1000px;height:auto}\nfigcaption{font-size:.9em;color:#444;padding-top:.3em}\n";

/* After the page is laid out, each figure is measured (its SVG's bounding box and its box on the page) and
 * the result left in data attributes, for a reader of the DOM (the test in headless Chromium) to check that
 * every figure rendered. */
static const char *const SCRIPT =
    "(function(){var f=document.querySelectorAll('figure.fig'),ok=0;"
    "for(var i=0;i<f.length;i++){var s=f[i].querySelector('svg'),good=false;"
    "if(s){try{var b=s.getBBox(),r=s.getBoundingClientRect();"
    "good=b.width>0&&b.height>0&&r.width>0&&r.height>0;}catch(e){good=false;}}"
    "f[i].setAttribute('data-rendered',good?'1':'0');if(good)ok++;}"
    "document.body.setAttribute('data-figures',String(f.length));"
    "document.body.setAttribute('data-figures-ok',String(ok));})();";

static void html_rich_tag(cl_buf *b, const char *tag, const char *cls, const rich *r)
{
    cl_buf_printf(b, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    rich_out(b, F_HTML, r);
    cl_buf_printf(b, "</%s>\n", tag);
}

static void html_table(cl_buf *b, const rtable *t)
{
    cl_buf_printf(b, "<table id=\"%s\">\n", t->id);
    if (t->caption.n) html_rich_tag(b, "caption", NULL, &t->caption);
    cl_buf_printf(b, "<thead><tr>");
    for (int c = 0; c < t->ncols; c++) {
        cl_buf_printf(b, "<th%s>", t->right[c] ? " class=\"r\"" : "");
        esc(b, F_HTML, t->head[c]);
        cl_buf_printf(b, "</th>");
    }
    cl_buf_printf(b, "</tr></thead>\n<tbody>\n");
    for (int r = 0; r < t->nrows; r++) {
        cl_buf_printf(b, "%s", t->hl[r] ? "<tr class=\"sel\">" : "<tr>");
        for (int c = 0; c < t->ncols; c++) {
            cl_buf_printf(b, "<td%s>", t->right[c] ? " class=\"r\"" : "");
            cell_out(b, F_HTML, &t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            cl_buf_printf(b, "</td>");
        }
        cl_buf_printf(b, "</tr>\n");
    }
    cl_buf_printf(b, "</tbody>\n</table>\n");
    for (int i = 0; i < t->nnotes; i++) html_rich_tag(b, "p", "note", &t->notes[i]);
}

static void html_doc(cl_buf *b, const doc *d)
{
    /* The policy makes the page's promise checkable: a browser fetches nothing for it (no images, fonts,
     * scripts or styles from anywhere), so everything it shows is in this one file. */
    cl_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                     "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(b, F_HTML, d->title);
    cl_buf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", CSS);
    esc(b, F_HTML, d->title);
    cl_buf_printf(b, "</h1>\n");
    for (int i = 0; i < d->n; i++) {
        const block *k = &d->v[i];
        int item = k->kind == B_ITEM, prev_item = i > 0 && d->v[i - 1].kind == B_ITEM,
            next_item = i + 1 < d->n && d->v[i + 1].kind == B_ITEM;
        if (item && !prev_item) cl_buf_printf(b, "<ul>\n");
        switch (k->kind) {
        case B_H2: html_rich_tag(b, "h2", NULL, &k->text); break;
        case B_PARA: html_rich_tag(b, "p", NULL, &k->text); break;
        case B_ITEM: html_rich_tag(b, "li", NULL, &k->text); break;
        case B_TABLE: html_table(b, k->table); break;
        case B_PRE: cl_buf_printf(b, "<pre>"), esc(b, F_HTML, k->pre), cl_buf_printf(b, "</pre>\n"); break;
        case B_FIGURES:
            for (int j = 0; j < d->nfig; j++) {
                cl_buf_printf(b, "<figure class=\"fig\" data-figure=\"");
                esc(b, F_HTML, d->fig[j].name);
                cl_buf_printf(b, "\">\n%s\n<figcaption>", d->fig[j].svg);
                esc(b, F_HTML, d->fig[j].name);
                cl_buf_printf(b, "</figcaption>\n</figure>\n");
            }
            break;
        default: break;
        }
        if (item && !next_item) cl_buf_printf(b, "</ul>\n");
    }
    cl_buf_printf(b, "<script>\n%s\n</script>\n</body>\n</html>\n", SCRIPT);
}

/* ---- LaTeX ------------------------------------------------------------------------------------------------ */

static void tex_table(cl_buf *b, const rtable *t)
{
    cl_buf_printf(b, "\\begin{table}[htbp]\n\\centering\n\\small\n");
    if (t->caption.n) {
        cl_buf_printf(b, "\\caption{");
        rich_out(b, F_TEX, &t->caption);
        cl_buf_printf(b, "}\n");
    }
    cl_buf_printf(b, "\\label{tab:clreg-%s}\n\\begin{tabular}{", t->id);
    for (int c = 0; c < t->ncols; c++) cl_buf_printf(b, "%s", t->right[c] ? "r" : "l");
    cl_buf_printf(b, "}\n\\toprule\n");
    for (int c = 0; c < t->ncols; c++) {
        if (c) cl_buf_printf(b, " & ");
        esc(b, F_TEX, t->head[c]);
    }
    cl_buf_printf(b, " \\\\\n\\midrule\n");
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c) cl_buf_printf(b, " & ");
            cell_out(b, F_TEX, &t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
        }
        cl_buf_printf(b, " \\\\\n");
    }
    cl_buf_printf(b, "\\bottomrule\n\\end{tabular}\n");
    for (int i = 0; i < t->nnotes; i++) {
        cl_buf_printf(b, "\\par\\smallskip\\parbox{\\linewidth}{\\footnotesize ");
        rich_out(b, F_TEX, &t->notes[i]);
        cl_buf_printf(b, "}\n");
    }
    cl_buf_printf(b, "\\end{table}\n\n");
}

/* A comment line of tables.tex holding user text: a line break in it would end the comment. */
static void tex_comment(cl_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        cl_buf_printf(b, "%c", *p < 0x20 || *p == 0x7f ? ' ' : *p);
}

static void tex_doc(cl_buf *b, const doc *d, const char *dir)
{
    cl_buf_printf(b, "%% tables.tex: written by clreg report from ");
    tex_comment(b, dir);
    cl_buf_printf(b, ".\n%% \\input{tables} into a document whose preamble has \\usepackage{booktabs}. Labels:");
    for (int i = 0; i < d->n; i++)
        if (d->v[i].kind == B_TABLE) cl_buf_printf(b, " tab:clreg-%s", d->v[i].table->id);
    cl_buf_printf(b, ".\n\n");
    for (int i = 0; i < d->n; i++)
        if (d->v[i].kind == B_TABLE) tex_table(b, d->v[i].table);
}

/* ---- reading the results ----------------------------------------------------------------------------------- */

static const struct metric {
    const char *key, *name;
    int lower_better; /* for telling the best method of a comparison */
} METRICS[] = {{"acc", "ACC", 0}, {"bwt", "BWT", 0}, {"forgetting", "forgetting", 1}, {"intransigence", "intransigence", 1}};
enum { NMETRIC = 4 };

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The number in a cell of an optional column (NaN when the column is absent). */
static int opt_num(const cl_table *t, int r, const char *col, double *v)
{
    int c = cl_table_col(t, col);
    *v = NAN;
    return c < 0 ? 0 : cl_table_num(t, r, c, v);
}

/* A statistic cell of summary.csv's row r for metric key: <key>_mean, <key>_std and, when the summary has
 * it, <key>_ci95. A summary without <key>_mean says "not recorded". */
static int stat_cell(rcell *c, const cl_table *s, int r, const char *key)
{
    char col[64];
    snprintf(col, sizeof col, "%s_mean", key);
    if (cl_table_col(s, col) < 0) {
        c_text(c, "not recorded");
        return 0;
    }
    c->kind = C_STAT;
    if (opt_num(s, r, col, &c->mean)) return -1;
    snprintf(col, sizeof col, "%s_std", key);
    if (opt_num(s, r, col, &c->sd)) return -1;
    snprintf(col, sizeof col, "%s_ci95", key);
    return opt_num(s, r, col, &c->ci);
}

static int same_lambda(const char *a, const char *b)
{
    double x = strtod(a, NULL), y = strtod(b, NULL);
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return fabs(x - y) <= 1e-6 * fmax(fabs(x), fabs(y));
}

/* A lambda as the tables show it: the CSV's text, nothing for none and joint (nan). */
static const char *lambda_text(const char *s) { return !strcmp(s, "nan") || !strcmp(s, "-nan") ? "" : s; }

/* The first line of manifest.txt starting with key ("BLAS: "), its value into out; 0 when found. */
static int manifest_value(const char *m, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *l = m; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, key, kl)) {
            size_t len = strcspn(l + kl, "\n");
            snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), l + kl);
            return 0;
        }
    snprintf(out, n, "not recorded");
    return -1;
}

/* The distinct values of column col of t, in order of appearance, joined by ", ", and their number. */
static int distinct(const cl_table *t, const char *col, cl_buf *out)
{
    int c = cl_table_col(t, col), n = 0;
    cl_buf_printf(out, "%s", "");
    if (c < 0) return 0;
    for (int r = 0; r < t->nrows; r++) {
        int seen = 0;
        for (int q = 0; q < r && !seen; q++) seen = !strcmp(t->cells[q][c], t->cells[r][c]);
        if (seen) continue;
        cl_buf_printf(out, "%s%s", n ? ", " : "", t->cells[r][c]);
        n++;
    }
    return n;
}

/* ---- compare.csv -------------------------------------------------------------------------------------------
 * clreg compare writes, per metric, one row per label against the reference method and one against the best
 * method. Which `against` is which is told from summary.csv: the best is the one whose selected mean of the
 * metric is best (highest, or lowest for forgetting and intransigence); every other one is a reference. */

static const char *const COMPARE_COLS[] = {"metric", "label", "lambda", "against", "against_lambda", "n",
                                           "mean_diff", "t_low", "t_high", "boot_low", "boot_high", "p_t",
                                           "p_wilcoxon", "p_t_holm", "p_wilcoxon_holm", "significant", NULL};

typedef struct ctx {
    const char *dir;
    cl_table sum;  /* summary.csv */
    int *sel;      /* the selected rows of sum, in order */
    int nsel;
    cl_table runs; /* runs.csv (nrows 0 when absent) */
    int has_runs;
    cl_table cmp;  /* compare.csv */
    int has_cmp;
    int *role;     /* per compare row: MARK_REF and/or MARK_BEST for its `against` */
    char *manifest;
} ctx;

/* The selected row of summary.csv for label, or -1. */
static int sel_row(const ctx *x, const char *label)
{
    int cl = cl_table_col(&x->sum, "label");
    for (int i = 0; i < x->nsel; i++)
        if (!strcmp(x->sum.cells[x->sel[i]][cl], label)) return x->sel[i];
    return -1;
}

static double metric_of(const ctx *x, const char *label, const char *metric)
{
    char col[96];
    double v = NAN;
    int r = sel_row(x, label);
    snprintf(col, sizeof col, "%s_mean", metric);
    if (r >= 0 && opt_num(&x->sum, r, col, &v)) v = NAN;
    return v;
}

static int lower_better(const char *metric)
{
    for (int m = 0; m < NMETRIC; m++)
        if (!strcmp(METRICS[m].key, metric)) return METRICS[m].lower_better;
    return 0;
}

static int read_compare(ctx *x)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/compare.csv", x->dir);
    if (!file_exists(path)) return 0;
    if (cl_table_read(&x->cmp, path, COMPARE_COLS)) return -1;
    x->has_cmp = 1;
    const cl_table *t = &x->cmp;
    static const char *const nums[] = {"lambda", "against_lambda", "mean_diff", "t_low", "t_high", "boot_low",
                                       "boot_high", "p_t", "p_wilcoxon", "p_t_holm", "p_wilcoxon_holm", NULL};
    for (int r = 0; r < t->nrows; r++) {
        double v;
        long n;
        for (int i = 0; nums[i]; i++)
            if (cl_table_num(t, r, cl_table_col(t, nums[i]), &v)) return -1;
        if (cl_table_int(t, r, cl_table_col(t, "n"), &n)) return -1;
        const char *s = t->cells[r][cl_table_col(t, "significant")];
        if (strcmp(s, "0") && strcmp(s, "1"))
            return cl_fail("%s:%d: column 'significant': expected 0 or 1, got '%.*s'", path, t->lines[r], CL_SHOW, s);
    }
    /* the roles of the `against` values, per metric: compare.csv's role column; a file without it (an earlier
     * clreg compare) by the best summary mean among the `against` values */
    x->role = cl_calloc((size_t)(t->nrows ? t->nrows : 1), sizeof(int));
    int cm = cl_table_col(t, "metric"), ca = cl_table_col(t, "against"), crole = cl_table_col(t, "role");
    for (int r = 0; r < t->nrows && crole >= 0; r++) {
        const char *role = t->cells[r][crole];
        if (strcmp(role, "reference") && strcmp(role, "best"))
            return cl_fail("%s:%d: column 'role': expected reference or best, got '%.*s'", path, t->lines[r], CL_SHOW,
                           role);
        x->role[r] = !strcmp(role, "best") ? MARK_BEST : MARK_REF;
    }
    for (int r = 0; r < t->nrows && crole < 0; r++) {
        const char *metric = t->cells[r][cm];
        /* the best among this metric's `against` values */
        const char *best = NULL;
        double bv = NAN;
        int ndist = 0;
        for (int q = 0; q < t->nrows; q++) {
            if (strcmp(t->cells[q][cm], metric)) continue;
            int seen = 0;
            for (int p = 0; p < q && !seen; p++) seen = !strcmp(t->cells[p][cm], metric) && !strcmp(t->cells[p][ca], t->cells[q][ca]);
            if (seen) continue;
            ndist++;
            double v = metric_of(x, t->cells[q][ca], metric);
            if (isfinite(v) && (!best || (lower_better(metric) ? v < bv : v > bv))) best = t->cells[q][ca], bv = v;
        }
        const char *a = t->cells[r][ca];
        if (ndist == 1) x->role[r] = MARK_REF | MARK_BEST;
        else x->role[r] = best && !strcmp(a, best) ? MARK_BEST : MARK_REF;
    }
    return 0;
}

/* ---- building the document ------------------------------------------------------------------------------- */

static void protocol(doc *d, ctx *x)
{
    d_h2(d, "Protocol");
    const cl_table *s = &x->sum, *ru = &x->runs;
    rich *r = d_item(d);
    if (x->has_runs && ru->nrows > 0) {
        static const char *const cols[] = {"dataset", "stream", "scenario", "tasks", "epochs", "hidden", "optimizer",
                                           "lr", "batch"};
        const char *v[9];
        for (int i = 0; i < 9; i++) {
            int c = cl_table_col(ru, cols[i]);
            v[i] = c >= 0 ? ru->cells[0][c] : "?";
        }
        r_text(r, "Stream: %s, %s, %s-incremental, %s task%s, %s epoch%s per task; network: %s; %s, learning rate "
                  "%s, batch %s.", v[0], v[1], v[2], v[3], strcmp(v[3], "1") ? "s" : "", v[4],
               strcmp(v[4], "1") ? "s" : "", v[5][0] ? v[5] : "linear", v[6], v[7], v[8]);
        cl_buf seeds = {0}, orders = {0};
        int ns = distinct(ru, "seed", &seeds), no = distinct(ru, "order", &orders);
        r = d_item(d);
        r_text(r, "Cells: %d in runs.csv, over %d seed%s (%s) and %d task order%s (%s); the statistics of a group are "
                  "over its cells that did not diverge (n).", ru->nrows, ns, ns == 1 ? "" : "s", seeds.s, no,
               no == 1 ? "" : "s", orders.s);
        cl_buf_free(&seeds), cl_buf_free(&orders);
    } else
        r_text(r, "Stream and cells: not recorded (no runs.csv in the results directory).");

    /* what the selection used: summary.csv's selected_on, one value or several */
    r = d_item(d);
    int cso = cl_table_col(s, "selected_on");
    cl_buf vals = {0};
    int nv = 0, val = 0, test = 0;
    if (cso >= 0)
        for (int i = 0; i < x->nsel; i++) {
            const char *v = s->cells[x->sel[i]][cso];
            val += !strcmp(v, "val_acc");
            test += !strcmp(v, "acc");
            int seen = 0;
            for (int j = 0; j < i && !seen; j++) seen = !strcmp(s->cells[x->sel[j]][cso], v);
            if (!seen) cl_buf_printf(&vals, "%s%s", nv++ ? ", " : "", v);
        }
    if (cso < 0) {
        r_text(r, "Selection: not recorded (summary.csv has no column selected_on; a clreg that wrote such a summary "
                  "selected each label's group by the highest mean test ACC, unless clreg summarize --select chose "
                  "it). Numbers selected on the test data flatter the methods with wider sweeps.");
    } else if (val == x->nsel) {
        r_text(r, "Selection: each method's lambda and parameters were selected by the highest mean validation ACC "
                  "(val_acc, on data held out of each task's training split, never trained on); the tables report "
                  "the test metrics of the selected group.");
    } else if (test == x->nsel) {
        r_text(r, "Selection: each method's lambda and parameters were selected by the highest mean test ACC (acc): "
                  "the grid has no validation split, so the selected numbers are tuned on the test data and flatter "
                  "the methods with wider sweeps. A grid with validation = 0.1 selects on held-out data.");
    } else {
        r_text(r, "Selection: mixed (summary.csv's selected_on holds %s): the table below names, per method, the "
                  "metric its group was selected on; acc means the test data.", vals.s);
    }
    cl_buf_free(&vals);
    r = d_item(d);
    /* recorded: some run has a validation ACC (a grid without a validation split writes the columns as nan) */
    int cva = x->has_runs ? cl_table_col(ru, "val_acc") : -1, any_val = 0;
    for (int q = 0; cva >= 0 && q < ru->nrows && !any_val; q++) {
        double v;
        any_val = cl_table_num(ru, q, cva, &v) == 0 && isfinite(v);
    }
    if (any_val)
        r_text(r, "Validation metrics: recorded in runs.csv (val_acc, val_bwt, val_fwt, val_forgetting, val_learning).");
    else
        r_text(r, "Validation metrics: not recorded (runs.csv has no validation ACC: the grid had no validation "
                  "split).");
    r = d_item(d);
    r_text(r, "Uncertainty: mean ± the sample standard deviation over a group's n cells (seeds × task orders)");
    if (cl_table_col(s, "acc_ci95") >= 0)
        r_text(r, "; [low, high] is the 95%% confidence interval of the mean (t distribution, summary.csv's "
                  "<metric>_ci95).");
    else
        r_text(r, "; 95%% confidence intervals: not recorded (summary.csv has no column acc_ci95).");
    r = d_item(d);
    if (x->has_cmp)
        r_text(r, "Paired comparisons: from compare.csv (%d rows): cells paired by seed and task order, mean "
                  "difference with 95%% intervals (paired t and bootstrap), p-values of the paired t-test and the "
                  "Wilcoxon signed-rank test, Holm-adjusted over the comparisons made.", x->cmp.nrows);
    else {
        r_text(r, "Paired comparisons: not computed (no compare.csv); ");
        r_code(r, "clreg compare %s", x->dir);
        r_text(r, " writes it, and the next report shows them and marks the significant differences.");
    }
}

/* The names of the reference and the best method of compare.csv's marks, for the footnote. */
static void roles_text(const ctx *x, int role, cl_buf *out)
{
    int cm = cl_table_col(&x->cmp, "metric"), ca = cl_table_col(&x->cmp, "against"), n = 0;
    cl_buf_printf(out, "%s", "");
    for (int r = 0; r < x->cmp.nrows; r++) {
        if (!(x->role[r] & role)) continue;
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = (x->role[q] & role) && !strcmp(x->cmp.cells[q][ca], x->cmp.cells[r][ca]) &&
                   !strcmp(x->cmp.cells[q][cm], x->cmp.cells[r][cm]);
        if (seen) continue;
        cl_buf_printf(out, "%s%s (%s)", n++ ? ", " : "", x->cmp.cells[r][ca], x->cmp.cells[r][cm]);
    }
}

static int selected_table(doc *d, ctx *x)
{
    d_h2(d, "Methods at their selected lambda");
    const cl_table *s = &x->sum;
    int cl = cl_table_col(s, "label"), cp = cl_table_col(s, "params"), cm = cl_table_col(s, "lambda"),
        cn = cl_table_col(s, "n"), cso = cl_table_col(s, "selected_on");
    int any_params = 0, mixed = 0;
    for (int i = 0; i < x->nsel; i++) {
        any_params |= s->cells[x->sel[i]][cp][0] != 0;
        if (cso >= 0 && strcmp(s->cells[x->sel[i]][cso], s->cells[x->sel[0]][cso])) mixed = 1;
    }
    const char *head[12];
    int right[12], nc = 0, col_metric[NMETRIC];
    head[nc] = "method", right[nc++] = 0;
    if (any_params) head[nc] = "params", right[nc++] = 0;
    head[nc] = "λ", right[nc++] = 1;
    if (mixed) head[nc] = "selected on", right[nc++] = 0;
    for (int m = 0; m < NMETRIC; m++) col_metric[m] = nc, head[nc] = METRICS[m].name, right[nc++] = 1;
    head[nc] = "n", right[nc++] = 1;
    rtable *t = t_new("selected", nc, head, right);
    r_text(&t->caption, "Each method at its selected lambda: test metrics, mean ± std over n cells");
    if (cl_table_col(s, "acc_ci95") >= 0) r_text(&t->caption, " [95%% CI]");
    r_text(&t->caption, ".");
    for (int i = 0; i < x->nsel; i++) {
        int row = x->sel[i], k = 0;
        rcell *c = t_row(t);
        c_text(&c[k++], s->cells[row][cl]);
        if (any_params) c_text(&c[k++], s->cells[row][cp]);
        c_num(&c[k++], "%s", lambda_text(s->cells[row][cm]));
        if (mixed) c_text(&c[k++], s->cells[row][cso]);
        for (int m = 0; m < NMETRIC; m++)
            if (stat_cell(&c[k++], s, row, METRICS[m].key)) {
                t_free(t);
                return -1;
            }
        c_num(&c[k++], "%s", s->cells[row][cn]);
    }
    /* significance marks from compare.csv, on the rows whose lambda is the one compare.csv compared */
    int nmarks = 0;
    rich *stale = NULL;
    if (x->has_cmp) {
        const cl_table *q = &x->cmp;
        int qm = cl_table_col(q, "metric"), ql = cl_table_col(q, "label"), qlam = cl_table_col(q, "lambda"),
            qa = cl_table_col(q, "against"), qal = cl_table_col(q, "against_lambda"), qs = cl_table_col(q, "significant");
        cl_buf said = {0}; /* the (label, lambda) pairs the stale note names already */
        cl_buf_printf(&said, "\n");
        for (int r = 0; r < q->nrows; r++) {
            int m = -1, srow = -1, arow = -1;
            for (int k = 0; k < NMETRIC; k++)
                if (!strcmp(METRICS[k].key, q->cells[r][qm])) m = k;
            for (int i = 0; i < x->nsel; i++) {
                if (!strcmp(s->cells[x->sel[i]][cl], q->cells[r][ql])) srow = i;
                if (!strcmp(s->cells[x->sel[i]][cl], q->cells[r][qa])) arow = i;
            }
            if (srow < 0) continue;
            /* a mark is only as good as the pair it was computed for: both sides at today's selection */
            int stale_l = !same_lambda(q->cells[r][qlam], s->cells[x->sel[srow]][cm]),
                stale_a = arow >= 0 && !same_lambda(q->cells[r][qal], s->cells[x->sel[arow]][cm]);
            if (stale_l || stale_a) {
                const char *who = stale_l ? q->cells[r][ql] : q->cells[r][qa];
                const char *was = stale_l ? q->cells[r][qlam] : q->cells[r][qal];
                const char *now = s->cells[x->sel[stale_l ? srow : arow]][cm];
                char key[600];
                snprintf(key, sizeof key, "\n%s\x01%s\n", who, was);
                if (!strstr(said.s, key)) {
                    cl_buf_printf(&said, "%s", key + 1);
                    if (!stale) {
                        stale = t_note(t);
                        r_text(stale, "compare.csv is older than summary.csv's selection, and its marks are left "
                                      "out where they differ:");
                    }
                    r_text(stale, " it compared %s at lambda %s, the summary selects %s;", who, was, now);
                }
                continue;
            }
            if (m < 0 || strcmp(q->cells[r][qs], "1")) continue;
            t->cells[(size_t)srow * (size_t)t->ncols + (size_t)col_metric[m]].marks |= x->role[r];
            nmarks++;
        }
        cl_buf_free(&said);
        if (stale) {
            r_text(stale, " rerun ");
            r_code(stale, "clreg compare %s", x->dir);
            r_text(stale, ".");
        }
        cl_buf refs = {0}, bests = {0};
        roles_text(x, MARK_REF, &refs);
        roles_text(x, MARK_BEST, &bests);
        rich *n = t_note(t);
        r_mark(n, MARK_REF);
        r_text(n, " differs significantly from the reference, %s; ", refs.s);
        r_mark(n, MARK_BEST);
        r_text(n, " differs significantly from the best method, %s: paired over seeds and task orders, both the "
                  "paired t-test and the Wilcoxon signed-rank test with Holm-adjusted p < 0.05 (compare.csv; the "
                  "comparisons are below). Differences without a mark are not significant at that level%s.",
               bests.s, nmarks ? "" : " (here: none is)");
        cl_buf_free(&refs), cl_buf_free(&bests);
    } else {
        rich *n = t_note(t);
        r_text(n, "No significance marks: compare.csv is absent. ");
        r_code(n, "clreg compare %s", x->dir);
        r_text(n, " computes the paired comparisons (a ");
        r_mark(n, MARK_REF);
        r_text(n, " then marks a significant difference from the reference method, a ");
        r_mark(n, MARK_BEST);
        r_text(n, " one from the best method).");
    }
    d_add(d, B_TABLE)->table = t;
    return 0;
}

static void compare_table(doc *d, ctx *x)
{
    d_h2(d, "Paired comparisons");
    if (!x->has_cmp) {
        rich *r = d_para(d);
        r_text(r, "Not computed: this directory has no compare.csv. ");
        r_code(r, "clreg compare %s", x->dir);
        r_text(r, " compares each method at its selected lambda with the reference method and with the best one, "
                  "over cells paired by seed and task order, and writes compare.csv; then run ");
        r_code(r, "clreg report %s", x->dir);
        r_text(r, " again.");
        return;
    }
    static const char *const head[] = {"metric", "method", "λ", "against", "λ (against)", "n", "difference",
                                       "95% CI, t", "95% CI, bootstrap", "p, t-test: Holm (raw)",
                                       "p, Wilcoxon: Holm (raw)", "significant"};
    static const int right[] = {0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0};
    rtable *t = t_new("compare", 12, head, right);
    r_text(&t->caption, "Paired differences (method minus against) at the selected lambdas, from compare.csv.");
    const cl_table *q = &x->cmp;
#define QN(name) (strtod(q->cells[r][cl_table_col(q, name)], NULL))
    for (int r = 0; r < q->nrows; r++) {
        rcell *c = t_row(t);
        c_text(&c[0], q->cells[r][cl_table_col(q, "metric")]);
        c_text(&c[1], q->cells[r][cl_table_col(q, "label")]);
        c_num(&c[2], "%s", lambda_text(q->cells[r][cl_table_col(q, "lambda")]));
        c_text(&c[3], q->cells[r][cl_table_col(q, "against")]);
        c_num(&c[4], "%s", lambda_text(q->cells[r][cl_table_col(q, "against_lambda")]));
        c_num(&c[5], "%s", q->cells[r][cl_table_col(q, "n")]);
        c_num(&c[6], "%+.3f", QN("mean_diff"));
        c_num(&c[7], "[%+.3f, %+.3f]", QN("t_low"), QN("t_high"));
        c_num(&c[8], "[%+.3f, %+.3f]", QN("boot_low"), QN("boot_high"));
        c_num(&c[9], "%.2g (%.2g)", QN("p_t_holm"), QN("p_t"));
        c_num(&c[10], "%.2g (%.2g)", QN("p_wilcoxon_holm"), QN("p_wilcoxon"));
        int sig = !strcmp(q->cells[r][cl_table_col(q, "significant")], "1");
        c_text(&c[11], sig ? "yes" : "no");
        if (sig) c[11].marks = x->role[r];
    }
#undef QN
    rich *n = t_note(t);
    r_text(n, "significant: both Holm-adjusted p-values below 0.05; ");
    r_mark(n, MARK_REF);
    r_text(n, " against the reference, ");
    r_mark(n, MARK_BEST);
    r_text(n, " against the best method. n: the pairs (seed, task order) both methods have.");
    d_add(d, B_TABLE)->table = t;
}

static int sweep_table(doc *d, ctx *x)
{
    d_h2(d, "Lambda sweep");
    const cl_table *s = &x->sum;
    int cl = cl_table_col(s, "label"), cp = cl_table_col(s, "params"), cm = cl_table_col(s, "lambda"),
        cn = cl_table_col(s, "n"), cd = cl_table_col(s, "diverged"), csel = cl_table_col(s, "selected");
    int any_params = 0, val = cl_table_col(s, "val_acc_mean") >= 0;
    for (int r = 0; r < s->nrows; r++) any_params |= s->cells[r][cp][0] != 0;
    const char *head[14];
    int right[14], nc = 0;
    head[nc] = "method", right[nc++] = 0;
    if (any_params) head[nc] = "params", right[nc++] = 0;
    head[nc] = "λ", right[nc++] = 1;
    head[nc] = "selected", right[nc++] = 0;
    if (val) head[nc] = "validation ACC", right[nc++] = 1;
    for (int m = 0; m < NMETRIC; m++) head[nc] = METRICS[m].name, right[nc++] = 1;
    head[nc] = "n", right[nc++] = 1;
    head[nc] = "diverged", right[nc++] = 1;
    rtable *t = t_new("sweep", nc, head, right);
    r_text(&t->caption, "Every group of the sweep (summary.csv): test metrics, mean ± std over n cells%s.",
           cl_table_col(s, "acc_ci95") >= 0 ? " [95% CI]" : "");
    for (int r = 0; r < s->nrows; r++) {
        rcell *c = t_row(t);
        int k = 0;
        c_text(&c[k++], s->cells[r][cl]);
        if (any_params) c_text(&c[k++], s->cells[r][cp]);
        c_num(&c[k++], "%s", lambda_text(s->cells[r][cm]));
        c_text(&c[k++], !strcmp(s->cells[r][csel], "1") ? "yes" : "");
        t->hl[t->nrows - 1] = !strcmp(s->cells[r][csel], "1");
        if (val && stat_cell(&c[k++], s, r, "val_acc")) goto fail;
        for (int m = 0; m < NMETRIC; m++)
            if (stat_cell(&c[k++], s, r, METRICS[m].key)) goto fail;
        c_num(&c[k++], "%s", s->cells[r][cn]);
        c_num(&c[k++], "%s", cd >= 0 ? s->cells[r][cd] : "");
    }
    d_add(d, B_TABLE)->table = t;
    return 0;
fail:
    t_free(t);
    return -1;
}

static void manifest_section(doc *d, ctx *x)
{
    d_h2(d, "Manifest");
    char v[1024];
    if (!x->manifest) {
        r_text(d_para(d), "Not recorded: the results directory has no manifest.txt.");
    } else {
        /* the first line is "clreg VERSION" */
        size_t len = strcspn(x->manifest, "\n");
        rich *r = d_item(d);
        r_text(r, "clreg: %.*s", (int)(len > 6 && !strncmp(x->manifest, "clreg ", 6) ? len - 6 : len),
               x->manifest + (len > 6 && !strncmp(x->manifest, "clreg ", 6) ? 6 : 0));
        manifest_value(x->manifest, "BLAS: ", v, sizeof v);
        r_text(d_item(d), "BLAS: %s", v);
        manifest_value(x->manifest, "grid: ", v, sizeof v);
        r_text(d_item(d), "grid: %s", v);
        r = d_item(d);
        if (manifest_value(x->manifest, "command: ", v, sizeof v) == 0) r_text(r, "command: "), r_code(r, "%s", v);
        else r_text(r, "command: not recorded");
        int nd = 0;
        for (const char *l = x->manifest; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (!strncmp(l, "data: ", 6)) {
                r_text(d_item(d), "data: %.*s", (int)strcspn(l + 6, "\n"), l + 6);
                nd++;
            }
        if (!nd) r_text(d_item(d), "data fingerprint: not recorded in manifest.txt");
    }
    /* the fingerprint resume checks against, as a table */
    char path[4400];
    snprintf(path, sizeof path, "%s/data_fingerprint.csv", x->dir);
    cl_table fp;
    static const char *const req[] = {"kind", "source", "bytes", "crc32", NULL};
    if (file_exists(path) && cl_table_read(&fp, path, req) == 0) {
        static const char *const head[] = {"kind", "source", "bytes", "crc32"};
        static const int right[] = {0, 0, 1, 0};
        rtable *t = t_new("data", 4, head, right);
        r_text(&t->caption, "The data the results come from (data_fingerprint.csv).");
        for (int r = 0; r < fp.nrows; r++) {
            rcell *c = t_row(t);
            for (int k = 0; k < 4; k++) c_text(&c[k], fp.cells[r][cl_table_col(&fp, req[k])]);
        }
        cl_table_free(&fp);
        d_add(d, B_TABLE)->table = t;
    }
    if (x->manifest) {
        r_text(d_para(d), "manifest.txt as written:");
        d_add(d, B_PRE)->pre = cl_strdup(x->manifest);
    }
}

/* ---- the figures ---------------------------------------------------------------------------------------------
 * clreg plot's scripts with the svg terminal, into a temporary directory, from the summaries as they are. Each
 * SVG goes into the page as an element: the XML declaration goes, and its ids (gnuplot names its point shapes
 * gpPt0, gpPt1, ... in every file) get the figure's number in front, so that one figure's references never
 * find another's definitions. gnuplot escapes the text it writes; a file that holds a script all the same is
 * refused rather than put into a page. */

static char *inline_svg(const char *text, int k, const char *path)
{
    const char *start = strstr(text, "<svg");
    if (!start || !strstr(start, "</svg>")) {
        cl_fail("%s: not an SVG image (gnuplot's svg terminal wrote something else)", path);
        return NULL;
    }
    for (const char *p = start; *p; p++)
        if (!strncasecmp(p, "<script", 7) || !strncasecmp(p, "<foreignobject", 14) || !strncasecmp(p, "javascript:", 11)) {
            cl_fail("%s: holds a script or foreign content; not put into report.html", path);
            return NULL;
        }
    cl_buf b = {0};
    static const char *const refs[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#", NULL};
    for (const char *p = start; *p;) {
        int hit = 0;
        for (int i = 0; refs[i] && !hit; i++) {
            size_t n = strlen(refs[i]);
            /* only attributes: "id=" preceded by a blank, not e.g. "grid='" */
            if (!strncmp(p, refs[i], n) && (i >= 2 || (p > start && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n')))) {
                cl_buf_printf(&b, "%sf%d-", refs[i], k);
                p += n;
                hit = 1;
            }
        }
        if (!hit) cl_buf_printf(&b, "%c", *p++);
    }
    return b.s;
}

static int fig_order(const char *name)
{
    static const char *const first[] = {"curves", "avg_acc", "lambda", "bars", "importance", "importance_scatter", NULL};
    for (int i = 0; first[i]; i++)
        if (!strcmp(name, first[i])) return i;
    return 100;
}

static int cmp_fig(const void *a, const void *b)
{
    const figure *x = a, *y = b;
    int ox = fig_order(x->name), oy = fig_order(y->name);
    return ox != oy ? ox - oy : strcmp(x->name, y->name);
}

static void remove_dir(const char *d)
{
    DIR *dp = opendir(d);
    if (dp) {
        struct dirent *e;
        char path[4800];
        while ((e = readdir(dp)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", d, e->d_name);
                unlink(path);
            }
        closedir(dp);
    }
    rmdir(d);
}

static int draw_figures(doc *d, const char *dir, const cl_report_opts *o)
{
    const char *tmpenv = getenv("TMPDIR");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/clreg-report-XXXXXX", tmpenv && *tmpenv ? tmpenv : "/tmp");
    if (!mkdtemp(tmp)) return cl_fail("cannot create a temporary directory for the figures: %s", strerror(errno));
    cl_plot_opts po = {.svg = 1, .png = 0, .plotdir = o->plotdir, .outdir = tmp, .keep_summaries = 1};
    int rc = cl_plot(dir, &po);
    if (rc) cl_fail_prefix("cannot draw the figures");
    DIR *dp = rc ? NULL : opendir(tmp);
    if (dp) {
        struct dirent *e;
        while ((e = readdir(dp))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 4, ".svg")) continue;
            d->fig = cl_realloc(d->fig, sizeof(figure) * (size_t)(d->nfig + 1));
            char *name = cl_malloc(n - 3);
            memcpy(name, e->d_name, n - 4);
            name[n - 4] = 0;
            d->fig[d->nfig++] = (figure){name, NULL};
        }
        closedir(dp);
    }
    qsort(d->fig, (size_t)d->nfig, sizeof(figure), cmp_fig);
    for (int i = 0; i < d->nfig && !rc; i++) {
        char path[4800];
        snprintf(path, sizeof path, "%s/%s.svg", tmp, d->fig[i].name);
        char *text = cl_read_file(path, (size_t)64 << 20, 0);
        if (!text) rc = -1;
        else if (!(d->fig[i].svg = inline_svg(text, i + 1, path))) rc = -1;
        free(text);
    }
    remove_dir(tmp);
    return rc;
}

/* ---- the whole report -------------------------------------------------------------------------------------- */

static void ctx_free(ctx *x)
{
    cl_table_free(&x->sum);
    if (x->has_runs) cl_table_free(&x->runs);
    if (x->has_cmp) cl_table_free(&x->cmp);
    free(x->sel);
    free(x->role);
    free(x->manifest);
}

static int read_inputs(ctx *x, const char *dir)
{
    char path[4400];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return cl_fail("%s: no such results directory", dir);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (!file_exists(path))
        return cl_fail("%s: not found: a report reads a summarized results directory (clreg summarize %s writes "
                       "the summaries; clreg run GRID.ini -o %s runs a grid into it)", path, dir, dir);
    static const char *const req[] = {"label", "params", "lambda", "selected", "n", "acc_mean", "acc_std", NULL};
    if (cl_table_read(&x->sum, path, req)) return -1;
    const cl_table *s = &x->sum;
    int csel = cl_table_col(s, "selected"), cn = cl_table_col(s, "n");
    x->sel = cl_malloc(sizeof(int) * (size_t)(s->nrows + 1));
    int clam = cl_table_col(s, "lambda");
    for (int r = 0; r < s->nrows; r++) {
        long n;
        double lam;
        /* both are shown as written: checked here to be numbers */
        if (cl_table_int(s, r, cn, &n) || cl_table_num(s, r, clam, &lam)) return -1;
        if (strcmp(s->cells[r][csel], "0") && strcmp(s->cells[r][csel], "1"))
            return cl_fail("%s:%d: column 'selected': expected 0 or 1, got '%.*s'", path, s->lines[r], CL_SHOW,
                           s->cells[r][csel]);
        if (!strcmp(s->cells[r][csel], "1")) x->sel[x->nsel++] = r;
    }
    if (x->nsel == 0)
        return cl_fail("%s: no selected group (no row with selected = 1): clreg summarize %s rewrites it", path, dir);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (file_exists(path)) {
        if (cl_table_read(&x->runs, path, NULL)) return -1;
        x->has_runs = 1;
    }
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    x->manifest = cl_read_file(path, 1 << 20, 1);
    if (!x->manifest && errno != ENOENT) return -1;
    return read_compare(x);
}

int cl_report(const char *dir, const cl_report_opts *o)
{
    ctx x = {.dir = dir};
    doc d = {0};
    cl_buf md = {0}, html = {0}, tex = {0};
    int rc = read_inputs(&x, dir);
    if (!rc) {
        char grid[512];
        if (!x.manifest || manifest_value(x.manifest, "grid: ", grid, sizeof grid)) snprintf(grid, sizeof grid, "%s", dir);
        else grid[strcspn(grid, " ")] = 0; /* "NAME (PATH)": the name */
        size_t n = strlen(grid) + 32;
        d.title = cl_malloc(n);
        snprintf(d.title, n, "clreg report: %s", grid);
        protocol(&d, &x);
        rc = selected_table(&d, &x);
    }
    if (!rc) {
        compare_table(&d, &x);
        rc = sweep_table(&d, &x);
    }
    if (!rc) {
        d_h2(&d, "Figures");
        d_add(&d, B_FIGURES);
        rc = draw_figures(&d, dir, o);
    }
    if (!rc) {
        manifest_section(&d, &x);
        md_doc(&md, &d);
        html_doc(&html, &d);
        tex_doc(&tex, &d, dir);
        const char *out = o && o->outdir ? o->outdir : dir;
        rc = cl_mkdirs(out);
        char path[4400];
        cl_replace rep = {0};
        snprintf(path, sizeof path, "%s/report.md", out);
        if (!rc) rc = cl_replace_stage(&rep, path, md.s, md.len);
        snprintf(path, sizeof path, "%s/report.html", out);
        if (!rc) rc = cl_replace_stage(&rep, path, html.s, html.len);
        snprintf(path, sizeof path, "%s/tables.tex", out);
        if (!rc) rc = cl_replace_stage(&rep, path, tex.s, tex.len);
        if (!rc) rc = cl_replace_commit(&rep);
    }
    cl_buf_free(&md), cl_buf_free(&html), cl_buf_free(&tex);
    d_free(&d);
    ctx_free(&x);
    return rc ? -1 : 0;
}
