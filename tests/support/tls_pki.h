#pragma once

// Certificates for TLS tests, made with the OpenSSL C API at test time (Debian 12's openssl 3.0
// CLI cannot back-date a certificate without a CA database, and an expired one is a case we
// test): a test CA, server certificates signed by it (good, expired, for another name) and an
// unrelated CA that signs nothing the tests trust. Link OpenSSL::SSL and OpenSSL::Crypto.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>

#include "tests/support/process.h"

namespace mediapath::testing {

class TlsPki {
 public:
  struct Files {
    std::string cert;  ///< PEM
    std::string key;   ///< PEM, unencrypted
  };

  /// Everything is written into `dir`. The good certificate is valid from an hour ago for
  /// `valid_days`; its notAfter is goodNotAfter() (whole seconds, as X.509 stores it).
  explicit TlsPki(const TempDir& dir, int valid_days = 30) {
    std::time_t now = std::time(nullptr);
    KeyPtr ca_key = newKey();
    X509Ptr ca_cert = makeCert(ca_key.get(), nullptr, ca_key.get(), "mediapath test CA", now - 3600,
                               now + 3650L * 86400, nullptr, true);
    ca_ = write(dir, "ca", ca_cert.get(), ca_key.get());
    KeyPtr other_key = newKey();
    X509Ptr other = makeCert(other_key.get(), nullptr, other_key.get(), "someone else's CA",
                             now - 3600, now + 3650L * 86400, nullptr, true);
    other_ca_ = write(dir, "other-ca", other.get(), other_key.get());

    const char* san = "DNS:sip.test,IP:127.0.0.1";
    good_not_after_ = now + std::time_t(valid_days) * 86400;
    KeyPtr key = newKey();
    X509Ptr good = makeCert(key.get(), ca_cert.get(), ca_key.get(), "sip.test", now - 3600,
                            good_not_after_, san, false);
    good_ = write(dir, "good", good.get(), key.get());
    X509Ptr expired = makeCert(key.get(), ca_cert.get(), ca_key.get(), "sip.test", now - 10 * 86400,
                               now - 86400, san, false);
    expired_ = write(dir, "expired", expired.get(), key.get());
    X509Ptr wrong = makeCert(key.get(), ca_cert.get(), ca_key.get(), "other.test", now - 3600,
                             now + 30L * 86400, "DNS:other.test,IP:127.0.0.2", false);
    wrong_name_ = write(dir, "wrong-name", wrong.get(), key.get());
    // Signed by the unrelated CA: untrusted even when the test CA is given.
    X509Ptr stranger = makeCert(key.get(), other.get(), other_key.get(), "sip.test", now - 3600,
                                now + 30L * 86400, san, false);
    untrusted_ = write(dir, "untrusted", stranger.get(), key.get());
  }

  const std::string& caFile() const { return ca_.cert; }
  const std::string& otherCaFile() const { return other_ca_.cert; }
  const Files& good() const { return good_; }
  const Files& expired() const { return expired_; }
  const Files& wrongName() const { return wrong_name_; }
  const Files& untrusted() const { return untrusted_; }
  std::chrono::system_clock::time_point goodNotAfter() const {
    return std::chrono::system_clock::from_time_t(good_not_after_);
  }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
  };
  using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
  using X509Ptr = std::unique_ptr<X509, X509Free>;

  static KeyPtr newKey() {
    KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) throw std::runtime_error("EVP_EC_gen failed");
    return key;
  }

  static void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("bad extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  static X509Ptr makeCert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, const char* cn,
                          std::time_t not_before, std::time_t not_after, const char* san,
                          bool is_ca) {
    static long serial = 1;
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before);
    ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    if (is_ca) {
      addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
      addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
      addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
    } else {
      addExtension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
      addExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
      addExtension(cert.get(), signer, NID_subject_alt_name, san);
      addExtension(cert.get(), signer, NID_authority_key_identifier, "keyid");
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
      throw std::runtime_error("X509_sign failed");
    }
    return cert;
  }

  static Files write(const TempDir& dir, const std::string& base, X509* cert, EVP_PKEY* key) {
    Files files{dir.file(base + ".pem"), dir.file(base + ".key")};
    std::FILE* f = std::fopen(files.cert.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + files.cert);
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(files.key.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + files.key);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    return files;
  }

  Files ca_;
  Files other_ca_;
  Files good_;
  Files expired_;
  Files wrong_name_;
  Files untrusted_;
  std::time_t good_not_after_ = 0;
};

}  // namespace mediapath::testing
