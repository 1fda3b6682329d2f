/*
 * tg_test.h - the assertion helpers every unit test uses.
 *
 * Each test file is one executable with a main() that calls its test
 * functions through TG_RUN().  A failed assertion prints the file, line,
 * the expression and both values, then exits 1.  Exit code 77 means
 * "skipped" to meson.  The last line printed is "N passed, M failed".
 */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tg_test_state {
    int passed;
    int failed;
} tg_test_state;

#define TG_FAIL_(...)                                                       \
    do {                                                                    \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                     \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
        exit(1);                                                            \
    } while (0)

#define ASSERT(expr)                                                        \
    do {                                                                    \
        if (!(expr))                                                        \
            TG_FAIL_("assertion failed: %s", #expr);                        \
    } while (0)

#define ASSERT_EQ(a, b)                                                     \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        if (a_ != b_)                                                       \
            TG_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);            \
    } while (0)

#define ASSERT_U64_EQ(a, b)                                                 \
    do {                                                                    \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                    \
        if (a_ != b_)                                                       \
            TG_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                 \
    do {                                                                    \
        const char *a_ = (a), *b_ = (b);                                    \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                              \
            TG_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,                  \
                     a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
    } while (0)

#define ASSERT_MEM_EQ(a, alen, b, blen)                                     \
    do {                                                                    \
        size_t al_ = (alen), bl_ = (blen);                                  \
        if (al_ != bl_ || memcmp((a), (b), al_) != 0)                       \
            TG_FAIL_("%s == %s: \"%.*s\" != \"%.*s\"", #a, #b, (int)al_,    \
                     (const char *)(a), (int)bl_, (const char *)(b));       \
    } while (0)

#define ASSERT_NOT_NULL(p)                                                  \
    do {                                                                    \
        if ((p) == NULL)                                                    \
            TG_FAIL_("%s is NULL", #p);                                     \
    } while (0)

/* Run one test function; a failing assertion exits the process. */
#define TG_RUN(st, fn)                                                      \
    do {                                                                    \
        fprintf(stderr, "-- %s\n", #fn);                                    \
        fn();                                                               \
        (st)->passed++;                                                     \
    } while (0)

#define TG_DONE(st)                                                         \
    do {                                                                    \
        printf("%d passed, %d failed\n", (st)->passed, (st)->failed);       \
        return (st)->failed ? 1 : 0;                                        \
    } while (0)

#define TG_SKIP(...)                                                        \
    do {                                                                    \
        printf("skip: ");                                                   \
        printf(__VA_ARGS__);                                                \
        printf("\n");                                                       \
        exit(77);                                                           \
    } while (0)

#endif /* TG_TEST_H */
