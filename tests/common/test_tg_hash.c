/*
 * test_tg_hash.c - SHA-256 against FIPS 180-2 examples, CRC32C check
 * value, tg_hash64 properties.  Owner: common.
 */
#include <string.h>

#include "tg_hash.h"
#include "tg_test.h"

static void test_sha256(void)
{
    char hex[TG_SHA256_HEX_LEN + 1];
    ASSERT_EQ(tg_sha256_hex("abc", 3, hex), 0);
    ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ASSERT_EQ(tg_sha256_hex("", 0, hex), 0);
    ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    tg_sha256 *h = tg_sha256_new();
    ASSERT_NOT_NULL(h);
    ASSERT_EQ(tg_sha256_update(h, two, 10), 0);
    ASSERT_EQ(tg_sha256_update(h, two + 10, strlen(two) - 10), 0);
    ASSERT_EQ(tg_sha256_final_hex(h, hex), 0);
    ASSERT_STR_EQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* reset: the same object hashes again from scratch, twice */
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(tg_sha256_reset(h), 0);
        ASSERT_EQ(tg_sha256_update(h, "abc", 3), 0);
        ASSERT_EQ(tg_sha256_final_hex(h, hex), 0);
        ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    tg_sha256_free(h);
    tg_sha256_free(NULL);
}

static void test_crc32c(void)
{
    ASSERT_EQ(tg_crc32c(0, "123456789", 9), 0xE3069283u);
    /* chaining equals one pass */
    ASSERT_EQ(tg_crc32c(tg_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    ASSERT_EQ(tg_crc32c(0, "", 0), 0);
}

static void test_hash64(void)
{
    const char *a = "eventName=ConsoleLogin";
    ASSERT_U64_EQ(tg_hash64(a, strlen(a), 1), tg_hash64_str(a, 1));
    ASSERT(tg_hash64(a, strlen(a), 1) != tg_hash64(a, strlen(a), 2));
    ASSERT(tg_hash64("a", 1, 0) != tg_hash64("b", 1, 0));
    ASSERT(tg_hash64("", 0, 0) != tg_hash64("\0", 1, 0));
    /* low bits spread: 4096 consecutive keys in 256 buckets, none empty */
    int buckets[256] = {0};
    for (int i = 0; i < 4096; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "key%d", i);
        buckets[tg_hash64(k, (size_t)n, 0) & 255]++;
    }
    for (int i = 0; i < 256; i++)
        ASSERT(buckets[i] > 0);
}

int main(void)
{
    tg_test_state st = {0};
    TG_RUN(&st, test_sha256);
    TG_RUN(&st, test_crc32c);
    TG_RUN(&st, test_hash64);
    TG_DONE(&st);
}
