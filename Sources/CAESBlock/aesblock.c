/* AES-128 block encryption with a key expanded once, through the AES implementation of BoringSSL as swift-crypto
 * ships it (its symbols carry swift-crypto's `CCryptoBoringSSL_` prefix; they use AES-NI where the processor has
 * it). swift-crypto's public API (`AES.permute`) expands the key again for every block, which is most of the cost
 * of a LoRaWAN MIC; this keeps the expansion per session key. The declarations below are BoringSSL's
 * (crypto/fipsmodule/aes, include/openssl/aes.h); the project's tests check every result against swift-crypto's
 * own AES and AES-CMAC. */
#include "aesblock.h"

struct aes_key_st;
int CCryptoBoringSSL_AES_set_encrypt_key(const uint8_t *key, unsigned bits, struct aes_key_st *aeskey);
void CCryptoBoringSSL_AES_encrypt(const uint8_t *in, uint8_t *out, const struct aes_key_st *key);

int lh_aes_expand(lh_aes_key *schedule, const uint8_t key[16]) {
    return CCryptoBoringSSL_AES_set_encrypt_key(key, 128, (struct aes_key_st *)schedule);
}

void lh_aes_encrypt_block(const lh_aes_key *schedule, const uint8_t in[16], uint8_t out[16]) {
    CCryptoBoringSSL_AES_encrypt(in, out, (const struct aes_key_st *)schedule);
}
