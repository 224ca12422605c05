/* The fuzz targets (tests/fuzz/) replayed over their seed corpora and every earlier finding
 * (tests/fuzz/regress/<target>/), in the ordinary builds: a regression fails `make test` even where clang's
 * fuzzer runtime is missing, and runs under gcc's ASan+UBSan too.
 *
 * Each input runs in a child process, so a crash, a sanitizer report, a leak or a broken promise (the
 * targets abort on one) names the input and the remaining inputs still run. The checks themselves are
 * tested first: a target whose checks never fire would replay anything. */
#include "tests/testutil.h"

#include <dirent.h>
#include <signal.h>

#include "core/error.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_DIR "tests/fuzz"

typedef struct target {
    const char *name;
    int (*run)(const uint8_t *data, size_t size);
} target;

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    size_t cap = 4096, len = 0, r;
    uint8_t *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += r) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    *n = len;
    return buf;
}

/* Run fn(arg) in a child; return its wait status. The child's exit runs LeakSanitizer in the ASan build. */
static int in_child(void (*fn)(const void *), const void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork failed");
    if (pid == 0) {
        fn(arg);
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) fail_msg("waitpid failed");
    return st;
}

static const target *current;
static char current_path[4096];

static void replay_one(const void *arg)
{
    (void)arg;
    size_t n;
    uint8_t *data = read_file(current_path, &n);
    current->run(data, n);
    free(data);
}

/* Replay every file of dir; returns the number replayed, adds the failures to *failed. */
static int replay_dir(const target *t, const char *dir, int *failed)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
        snprintf(current_path, sizeof current_path, "%s/%s", dir, e->d_name);
        current = t;
        int st = in_child(replay_one, NULL);
        count++;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (WIFSIGNALED(st)) print_error("fuzz target %s failed on %s: signal %d\n", t->name, current_path, WTERMSIG(st));
            else print_error("fuzz target %s failed on %s: exit %d\n", t->name, current_path, WEXITSTATUS(st));
            (*failed)++;
        }
    }
    closedir(d);
    return count;
}

static void replay(const target *t, int min_seeds)
{
    char dir[512];
    int failed = 0;
    snprintf(dir, sizeof dir, FUZZ_DIR "/%s", t->name);
    int seeds = replay_dir(t, dir, &failed);
    snprintf(dir, sizeof dir, FUZZ_DIR "/regress/%s", t->name);
    int regress = replay_dir(t, dir, &failed);
    print_message("%s: %d seeds, %d regression inputs\n", t->name, seeds, regress);
    /* the corpus must be there: an empty replay would pass without testing anything */
    assert_true(seeds >= min_seeds);
    assert_int_equal(failed, 0);
}

static const target targets[] = {
    {"idx", cl_fuzz_idx}, {"csv", cl_fuzz_csv}, {"grid", cl_fuzz_grid}, {"results", cl_fuzz_results}};

static void test_replay_idx(void **state) { (void)state, replay(&targets[0], 20); }
static void test_replay_csv(void **state) { (void)state, replay(&targets[1], 20); }
static void test_replay_grid(void **state) { (void)state, replay(&targets[2], 20); }
static void test_replay_results(void **state) { (void)state, replay(&targets[3], 10); }

/* ---- the checks the targets rely on ------------------------------------------------------------------ */

static void message_check(const void *arg)
{
    const char *msg = arg;
    const char *path = "/data/x.csv";
    if (!freopen("/dev/null", "w", stderr)) abort(); /* the expected reports would read like failures */
    fz_check_text("test", msg, &path, 1);
}

static int aborts(const char *msg)
{
    int st = in_child(message_check, msg);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void test_message_checks(void **state)
{
    (void)state;
    char longmsg[1100];
    snprintf(longmsg, sizeof longmsg, "/data/x.csv: line 3: %01000d", 0);
    assert_false(aborts("/data/x.csv: line 3: column 'a': expected a number, got 'abc'"));
    assert_true(aborts(""));
    assert_true(aborts("/data/x.csv: line 3: got 'a\nb'"));       /* two lines */
    assert_true(aborts("/data/x.csv: line 3: got '\x1b[31m'"));    /* a terminal escape */
    assert_true(aborts("/data/x.csv: line 3: got '\xff\xfe'"));   /* binary, not UTF-8 */
    assert_true(aborts("/data/x.csv: line 3: got '\xc2\x9b'"));   /* a C1 control, in UTF-8 */
    assert_false(aborts("/data/x.csv: line 3: column 'temp \xc2\xb0" "C': got '\xe2\x80\x94'")); /* UTF-8 text */
    assert_true(aborts("line 3: expected a number"));              /* no file named */
    assert_true(aborts(longmsg));                                  /* cut off */
}

/* cl_fail keeps every message one printable line whatever text it quotes. */
static void test_fail_escapes(void **state)
{
    (void)state;
    cl_fail("%s: got '%s'", "/data/x.csv", "a\nb\r\t\x1b[31m\x01\xff\xc2\x9b \xc3\xa9\xe2\x80\x94 \xe0\x80\x80");
    assert_string_equal(cl_errmsg(), "/data/x.csv: got 'a\\nb\\r\\t\\x1B[31m\\x01\\xFF\\xC2\\x9B \xc3\xa9\xe2\x80\x94 "
                                     "\\xE0\\x80\\x80'");
    cl_fail("line\none");
    cl_fail_prefix("%s", "pre\x7f");
    assert_string_equal(cl_errmsg(), "pre\\x7F: line\\none");
    /* cut at the buffer's end between whole escapes, never in the middle of one */
    char big[2000];
    memset(big, 0x01, sizeof big - 1);
    big[sizeof big - 1] = 0;
    cl_fail("%s", big);
    size_t len = strlen(cl_errmsg());
    assert_true(len >= 1016 && len <= 1023);
    assert_int_equal(len % 4, 0);
}

static void test_split(void **state)
{
    (void)state;
    const char *in = "a,b\n1,2\n====\nc\n====\n\n====\nd";
    const uint8_t *part[4];
    size_t len[4];
    assert_int_equal(fz_split((const uint8_t *)in, strlen(in), part, len, 3, 1), 3);
    assert_int_equal(len[0], 8);
    assert_memory_equal(part[0], "a,b\n1,2\n", 8);
    assert_int_equal(len[1], 2);
    assert_memory_equal(part[1], "c\n", 2);
    /* the last part keeps the remaining separators */
    assert_int_equal(len[2], 7);
    assert_memory_equal(part[2], "\n====\nd", 7);
    /* binary files: the separator's newline is not part of the file before it */
    assert_int_equal(fz_split((const uint8_t *)in, strlen(in), part, len, 4, 0), 4);
    assert_int_equal(len[0], 7);
    assert_memory_equal(part[0], "a,b\n1,2", 7);
    assert_int_equal(len[1], 1);
    assert_int_equal(len[2], 0);
    assert_int_equal(len[3], 1);
    assert_memory_equal(part[3], "d", 1);
    assert_int_equal(fz_split((const uint8_t *)"x", 1, part, len, 3, 1), 1);
    assert_int_equal(len[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_checks), cmocka_unit_test(test_fail_escapes), cmocka_unit_test(test_split),
        cmocka_unit_test(test_replay_idx),     cmocka_unit_test(test_replay_csv),
        cmocka_unit_test(test_replay_grid),    cmocka_unit_test(test_replay_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
