#ifndef LORAHARNESS_AESBLOCK_H
#define LORAHARNESS_AESBLOCK_H
#include <stdint.h>

/* An expanded AES-128 encryption key: the layout of BoringSSL's AES_KEY (include/openssl/aes.h), which swift-crypto
 * builds into every program that uses it. Expanded once per key, then used for any number of blocks. */
typedef struct {
    uint32_t rd_key[4 * (14 + 1)];
    unsigned rounds;
} lh_aes_key;

/* Expands a 16-byte key. Returns 0 on success. */
int lh_aes_expand(lh_aes_key *schedule, const uint8_t key[16]);

/* Encrypts one 16-byte block with an expanded key (`in` and `out` may be the same buffer). */
void lh_aes_encrypt_block(const lh_aes_key *schedule, const uint8_t in[16], uint8_t out[16]);

#endif
