/* Fuzz targets for the parsers that read what users and killed runs leave behind: IDX files (raw and gzip),
 * CSV data, grid files, and the results CSVs that resume and summarize read back.
 *
 * Each target is one function taking one input (bytes). It hands the input to the parser the way clreg does
 * (the loaders take paths, so the bytes go into a memfd and the parser opens /proc/self/fd/N), and checks
 * what the project promises for every input, not only that nothing crashes:
 *   - a failure leaves exactly one message: non-empty, one line of printable UTF-8, not cut off, and naming
 *     the file it is about;
 *   - a success returns data consistent with the input (sizes, labels inside the class count, pixels equal
 *     to the bytes given, cells counted as the grid says, summaries that a second summarize reproduces).
 * A broken promise is reported by fz_violation, which prints the reason and aborts, so libFuzzer keeps the
 * input like any crash.
 *
 * The same functions run under libFuzzer (tests/fuzz/<target>.c built with -DCL_LIBFUZZER, `make fuzz`) and
 * in tests/test_fuzz_corpus.c, which replays the seed corpora and every earlier finding
 * (tests/fuzz/regress/<target>/) in the ordinary optimized and ASan+UBSan builds. */
#ifndef CLREG_FUZZ_H
#define CLREG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The targets. Each returns 0 (libFuzzer's convention; a broken promise aborts instead of returning). */
int cl_fuzz_idx(const uint8_t *data, size_t size);
int cl_fuzz_csv(const uint8_t *data, size_t size);
int cl_fuzz_grid(const uint8_t *data, size_t size);
int cl_fuzz_results(const uint8_t *data, size_t size);

/* Inputs that hold several files separate them with this line: "a\n====\nb" is the files "a\n" and "b"
 * (text files, keep_newline 1) or "a" and "b" (binary files, keep_newline 0). */
#define FZ_SEPARATOR "\n====\n"

/* Split data into at most max parts at FZ_SEPARATOR (the last part keeps any further separators); with
 * keep_newline each part keeps the newline that ends its last line. Returns the number of parts (>= 1). */
int fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max, int keep_newline);

/* Put n bytes into memory file `slot` (0..FZ_SLOTS-1, created on first use, reused after) and return a
 * path that opens it: "/proc/self/fd/N". */
#define FZ_SLOTS 4
const char *fz_memfile(int slot, const void *data, size_t n);

/* A private directory for targets that need real files (summarize renames over its files), created once
 * per process in /dev/shm (or $TMPDIR, /tmp) and removed at exit by the process that created it. */
const char *fz_workdir(void);

/* Write n bytes to dir/name (aborts on an I/O error: the target cannot go on without its input). */
void fz_write(const char *dir, const char *name, const void *data, size_t n);

/* n bytes compressed as one gzip member into a malloc'd buffer (*outlen bytes). */
uint8_t *fz_gzip(const uint8_t *data, size_t n, size_t *outlen);

/* Check the message a failed call left (cl_errmsg): non-empty, printable UTF-8 (no control bytes, no raw
 * binary echoed from the input), shorter than FZ_MSG_MAX
 * (core/error.c keeps 1023 characters, so a longer message was cut off, likely before its reason), and
 * containing at least one of paths[0..npaths) (npaths 0:
 * no file to name). `call` names the failing call in the report. */
#define FZ_MSG_MAX 1000
void fz_check_message(const char *call, const char *const *paths, int npaths);
/* The same checks on any message text (cl_fail itself escapes control bytes; the replay test checks that
 * these checks catch what cl_fail would no longer produce). */
void fz_check_text(const char *call, const char *msg, const char *const *paths, int npaths);

/* Report a broken promise and abort. */
void fz_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
