// read_pkcs12 walks the file with OpenSSL's piecewise PKCS#12 calls, never PKCS12_parse, so that
// it can price every key derivation from its parameters before OpenSSL runs it:
//   1. everything visible without the password: the MAC, each encrypted safe's scheme, and each
//      shrouded key in a plain safe; over budget, nothing has run yet;
//   2. the MAC (which is what tells a wrong password apart from a corrupt file);
//   3. the encrypted safes, then the shrouded keys found inside them, priced before any of them
//      is decrypted.
// The parameters are decoded with the same ASN1_TYPE_unpack_sequence calls OpenSSL's own key
// derivation uses, so the count charged is the count that would run.
#include "tlsfix/ca/pkcs12.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <limits>
#include <string>

#include "detail/openssl_errors.hpp"
#include "tlsfix/ca/handles.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

namespace {

// Measured here (OpenSSL 3.0.19, x86-64, a shared 2-core machine at load 3.6): `openssl kdf -keylen
// 32 -kdfopt digest:SHA256 -kdfopt iter:1000000 PBKDF2` took 0.24-0.31 s of CPU, 0.37-0.42 s of
// wall time (an earlier measurement: 0.42 s), so the budget of 2,000,000 iterations is under a
// second even on a loaded machine.
constexpr const char* budget_in_time = "under a second of CPU";

// safeContentsBags may nest; real files never do, and each level is a recursion here.
constexpr int max_nesting = 4;

constexpr std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

constexpr std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b ? std::numeric_limits<std::uint64_t>::max() : a * b;
}

// 2000000 -> "2,000,000": iteration counts are read by people.
std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Whether `der` opens a SEQUENCE, as PKCS#12 does, whose header or length runs past the end: the
// outer SEQUENCE spans the whole file, so any cut shows here.
bool cut_short(std::string_view der) {
  if (static_cast<unsigned char>(der.front()) != (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED)) return false;
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  long length = 0;
  int tag = 0, tag_class = 0;
  return (ASN1_get_object(&cursor, &length, &tag, &tag_class, static_cast<long>(der.size())) & 0x80) != 0;
}

bool first_error_is(int lib, int reason) {
  unsigned long code = ERR_peek_error();
  return code != 0 && ERR_GET_LIB(code) == lib && ERR_GET_REASON(code) == reason;
}

std::string algorithm_name(const ASN1_OBJECT* oid) {
  int nid = OBJ_obj2nid(oid);
  if (nid != NID_undef) return OBJ_nid2ln(nid);
  char text[80] = {};
  OBJ_obj2txt(text, sizeof text, oid, 1);
  return text;
}

// The schemes that only OpenSSL 3's legacy provider decrypts (and two-key 3DES, 80-bit strong),
// named as users meet them.
const char* legacy_cipher(int nid) {
  switch (nid) {
    case NID_pbe_WithSHA1And40BitRC2_CBC: return "RC2-40 (openssl pkcs12 -legacy)";
    case NID_pbe_WithSHA1And128BitRC2_CBC: return "RC2-128";
    case NID_pbeWithMD2AndRC2_CBC:
    case NID_pbeWithMD5AndRC2_CBC:
    case NID_pbeWithSHA1AndRC2_CBC:
    case NID_rc2_cbc:
    case NID_rc2_40_cbc:
    case NID_rc2_64_cbc: return "RC2";
    case NID_pbe_WithSHA1And40BitRC4: return "RC4-40";
    case NID_pbe_WithSHA1And128BitRC4: return "RC4-128";
    case NID_pbeWithMD2AndDES_CBC:
    case NID_pbeWithMD5AndDES_CBC:
    case NID_pbeWithSHA1AndDES_CBC:
    case NID_des_cbc: return "single DES";
    case NID_pbe_WithSHA1And2_Key_TripleDES_CBC: return "two-key 3DES";
    default: return nullptr;
  }
}

// Bytes of key a PBES2 cipher needs, or 0 for one tlsfix does not decrypt.
int pbes2_key_length(int cipher_nid) {
  switch (cipher_nid) {
    case NID_aes_128_cbc: return 16;
    case NID_aes_192_cbc:
    case NID_des_ede3_cbc: return 24;
    case NID_aes_256_cbc: return 32;
    default: return 0;
  }
}

// Output bytes of a PBKDF2 PRF, or 0 for one tlsfix does not run.
int prf_output_length(int prf_nid) {
  switch (prf_nid) {
    case NID_hmacWithSHA1: return 20;
    case NID_hmacWithSHA224: return 28;
    case NID_hmacWithSHA256: return 32;
    case NID_hmacWithSHA384: return 48;
    case NID_hmacWithSHA512: return 64;
    default: return 0;
  }
}

// What an encryption protects, as a message names it: "the private key is encrypted with ...".
struct protected_part {
  const char* noun;
  const char* is;
};
constexpr protected_part the_certificates{"the certificates", "are"};
constexpr protected_part the_private_key{"the private key", "is"};
constexpr protected_part the_mac{"the MAC", "is"};

std::string encrypted_with(const protected_part& part, const std::string& scheme) {
  return std::string(part.noun) + " " + part.is + " encrypted with " + scheme;
}

bool known_mac_digest(int nid) {
  return nid == NID_sha1 || nid == NID_sha224 || nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

class reader {
 public:
  reader(std::string_view password, std::string_view what) : password_(password), what_(what) {}

  pkcs12_contents read(std::string_view der) {
    // The queue tells a signed file or a wrong password apart from a corrupt one; what an earlier,
    // unrelated call left there must not.
    ERR_clear_error();
    if (der.empty()) fail("is empty");
    if (der.size() > pkcs12_size_limit)
      fail("is " + with_commas(der.size()) + " bytes; tlsfix reads PKCS#12 files of at most " +
           with_commas(pkcs12_size_limit) + " bytes");
    if (password_.size() > pkcs12_size_limit) fail("the password is longer than the file may be (1 MiB)");
    pkcs12_ptr p12 = decode(der);

    pkcs7_stack_ptr safes{PKCS12_unpack_authsafes(p12.get())};
    if (!safes) {
      if (first_error_is(ERR_LIB_PKCS12, PKCS12_R_CONTENT_TYPE_NOT_DATA))
        fail_openssl("PKCS12_unpack_authsafes", "its contents are signed (public-key integrity mode), not protected "
                                                "by a password; tlsfix reads password-protected files only");
      fail_openssl("PKCS12_unpack_authsafes", "is malformed: its contents do not parse");
    }
    if (PKCS12_mac_present(p12.get()) != 1)
      fail("has no MAC, so nothing shows that the password protects its contents (openssl pkcs12 -nomac); "
           "re-export it with a MAC");

    price_mac(p12.get());
    std::vector<PKCS7*> encrypted;
    for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
      PKCS7* safe = sk_PKCS7_value(safes.get(), i);
      switch (OBJ_obj2nid(safe->type)) {
        case NID_pkcs7_data: {
          safebag_stack_ptr bags{PKCS12_unpack_p7data(safe)};
          if (!bags) fail_openssl("PKCS12_unpack_p7data", "is malformed: a safe does not parse");
          price_bags(bags.get(), 0);
          plain_.push_back(std::move(bags));
          break;
        }
        case NID_pkcs7_encrypted: {
          // Every field below is OPTIONAL or a CHOICE in the ASN.1, so a hostile file can leave it out.
          const PKCS7_ENCRYPT* content = safe->d.encrypted;
          if (content == nullptr || content->enc_data == nullptr || content->enc_data->algorithm == nullptr ||
              content->enc_data->enc_data == nullptr)
            fail("is malformed: an encrypted safe has no contents");
          charge(encryption_cost(content->enc_data->algorithm, the_certificates));
          encrypted.push_back(safe);
          break;
        }
        case NID_pkcs7_enveloped:
          fail("its contents are encrypted to a certificate (public-key privacy mode), not with a password; "
               "tlsfix reads password-protected files only");
        default:
          fail("is malformed: it holds a " + algorithm_name(safe->type) + " safe, which PKCS#12 does not use");
      }
    }
    check_budget();

    verify_mac(p12.get());
    for (PKCS7* safe : encrypted) {
      safebag_stack_ptr bags{PKCS12_unpack_p7encdata(safe, pass(), pass_length())};
      if (!bags)
        fail_openssl("PKCS12_unpack_p7encdata", "the certificates do not decrypt with the password its MAC accepts: "
                                                "the file is corrupt");
      price_bags(bags.get(), 0);
      plain_.push_back(std::move(bags));
    }
    check_budget();

    for (const auto& bags : plain_) collect(bags.get());
    return assemble();
  }

 private:
  [[noreturn]] void fail(std::string problem) const { throw error(what_, std::move(problem)); }
  [[noreturn]] void fail_openssl(const char* call, std::string problem) const {
    throw error::from_openssl(call, std::move(problem), what_);
  }

  pkcs12_ptr decode(std::string_view der) const {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    pkcs12_ptr p12{d2i_PKCS12(nullptr, &cursor, static_cast<long>(der.size()))};
    if (!p12) {
      if (der.substr(0, 10) == "-----BEGIN") {
        detail::drain_openssl_errors();
        fail("is PEM; a PKCS#12 file is binary DER");
      }
      if (cut_short(der)) fail_openssl("d2i_PKCS12", "is truncated: it ends inside the PKCS#12 structure");
      fail_openssl("d2i_PKCS12", "is not a PKCS#12 file (DER)");
    }
    auto consumed = static_cast<size_t>(cursor - reinterpret_cast<const unsigned char*>(der.data()));
    if (consumed != der.size())
      fail("has " + with_commas(der.size() - consumed) + " bytes of other data after the PKCS#12 structure");
    return p12;
  }

  // A missing count means 1 (the ASN.1 DEFAULT, and what OpenSSL's derivations assume).
  std::uint64_t iterations(const ASN1_INTEGER* count, const protected_part& part) const {
    if (count == nullptr) return 1;
    std::int64_t value = 0;
    if (ASN1_INTEGER_get_int64(&value, count) != 1 || value <= 0) {
      detail::drain_openssl_errors();
      fail("is malformed: the iteration count for " + std::string(part.noun) + " is not a positive number");
    }
    return static_cast<std::uint64_t>(value);
  }

  void price_mac(const PKCS12* p12) {
    const X509_ALGOR* algorithm = nullptr;
    const ASN1_INTEGER* count = nullptr;
    PKCS12_get0_mac(nullptr, &algorithm, nullptr, &count, p12);
    const ASN1_OBJECT* digest = nullptr;
    if (algorithm != nullptr) X509_ALGOR_get0(&digest, nullptr, nullptr, algorithm);
    if (digest == nullptr) fail("is malformed: its MAC names no digest");
    if (!known_mac_digest(OBJ_obj2nid(digest)))
      fail("its MAC uses " + algorithm_name(digest) + ", which tlsfix does not read; re-export with SHA-256");
    // An empty password has two encodings (none, or an empty BMPString) and the MAC tells which
    // one the writer used, so it may run twice, as in PKCS12_parse.
    charge(saturating_mul(iterations(count, the_mac), password_.empty() ? 2 : 1));
  }

  // The iterations needed to decrypt with `algorithm`; refuses schemes tlsfix does not decrypt.
  std::uint64_t encryption_cost(const X509_ALGOR* algorithm, const protected_part& part) const {
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, algorithm);
    int nid = OBJ_obj2nid(oid);
    if (nid == NID_pbe_WithSHA1And3_Key_TripleDES_CBC) {
      pbe_param_ptr params{static_cast<PBEPARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), algorithm->parameter))};
      if (!params) fail_openssl("ASN1_TYPE_unpack_sequence", "is malformed: bad PBE parameters for " + std::string(part.noun));
      // PKCS#12's KDF runs the iterations once per 20-byte SHA-1 block: twice for the 24-byte
      // 3DES key, once more for the IV.
      return saturating_mul(iterations(params->iter, part), 3);
    }
    if (nid == NID_pbes2) return pbes2_cost(algorithm, part);
    if (const char* legacy = legacy_cipher(nid))
      fail(encrypted_with(part, legacy) + ", a legacy cipher tlsfix refuses; re-export with AES-256");
    fail(encrypted_with(part, algorithm_name(oid)) + ", which tlsfix does not read; re-export with AES-256");
  }

  std::uint64_t pbes2_cost(const X509_ALGOR* algorithm, const protected_part& part) const {
    pbe2_param_ptr params{static_cast<PBE2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), algorithm->parameter))};
    if (!params || params->keyfunc == nullptr || params->encryption == nullptr)
      fail_openssl("ASN1_TYPE_unpack_sequence", "is malformed: bad PBES2 parameters for " + std::string(part.noun));
    int kdf = OBJ_obj2nid(params->keyfunc->algorithm);
    if (kdf == NID_id_scrypt)
      fail(encrypted_with(part, "a key from scrypt") + ", which tlsfix does not run; re-export with AES-256 (PBKDF2)");
    if (kdf != NID_id_pbkdf2)
      fail(encrypted_with(part, "a key from " + algorithm_name(params->keyfunc->algorithm)) +
           ", which tlsfix does not run; re-export with AES-256 (PBKDF2)");
    int cipher = OBJ_obj2nid(params->encryption->algorithm);
    int key_length = pbes2_key_length(cipher);
    if (key_length == 0) {
      if (const char* legacy = legacy_cipher(cipher))
        fail(encrypted_with(part, legacy) + ", a legacy cipher tlsfix refuses; re-export with AES-256");
      fail(encrypted_with(part, algorithm_name(params->encryption->algorithm)) +
           ", which tlsfix does not read; re-export with AES-256");
    }
    pbkdf2_param_ptr kdf_params{
        static_cast<PBKDF2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), params->keyfunc->parameter))};
    if (!kdf_params)
      fail_openssl("ASN1_TYPE_unpack_sequence", "is malformed: bad PBKDF2 parameters for " + std::string(part.noun));
    // No PRF means HMAC-SHA1, as in RFC 8018.
    int prf = kdf_params->prf == nullptr ? NID_hmacWithSHA1 : OBJ_obj2nid(kdf_params->prf->algorithm);
    int prf_length = prf_output_length(prf);
    if (prf_length == 0)
      fail(encrypted_with(part, "a key from PBKDF2 with " + algorithm_name(kdf_params->prf->algorithm)) +
           ", which tlsfix does not run; re-export with AES-256 (PBKDF2 with HMAC-SHA-256)");
    // PBKDF2 runs the iterations once per PRF output block of key.
    std::uint64_t blocks = static_cast<std::uint64_t>((key_length + prf_length - 1) / prf_length);
    return saturating_mul(iterations(kdf_params->iter, part), blocks);
  }

  void price_bags(const STACK_OF(PKCS12_SAFEBAG) * bags, int depth) {
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
      switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_pkcs8ShroudedKeyBag: {
          const X509_ALGOR* algorithm = nullptr;
          const X509_SIG* shrouded = PKCS12_SAFEBAG_get0_pkcs8(bag);
          if (shrouded != nullptr) X509_SIG_get0(shrouded, &algorithm, nullptr);
          if (algorithm == nullptr) fail("is malformed: an encrypted key has no algorithm");
          charge(encryption_cost(algorithm, the_private_key));
          break;
        }
        case NID_safeContentsBag:
          if (depth == max_nesting) fail("is malformed: its safes nest more than " + std::to_string(max_nesting) + " deep");
          price_bags(PKCS12_SAFEBAG_get0_safes(bag), depth + 1);
          break;
        default: break;
      }
    }
  }

  void charge(std::uint64_t cost) { charged_ = saturating_add(charged_, cost); }

  void check_budget() const {
    if (charged_ > pkcs12_iteration_budget)
      fail("needs at least " + with_commas(charged_) + " key-derivation iterations (MAC and encryption together), " +
           "more than the " + with_commas(pkcs12_iteration_budget) + " tlsfix allows (" + budget_in_time +
           "); re-export with fewer (openssl pkcs12 -export -iter 10000)");
  }

  void verify_mac(PKCS12* p12) {
    if (!password_.empty()) {
      mac_pass_ = password_.c_str();
      if (PKCS12_verify_mac(p12, pass(), pass_length()) == 1) return;
    } else {
      for (const char* empty : {static_cast<const char*>(nullptr), ""}) {
        mac_pass_ = empty;
        if (PKCS12_verify_mac(p12, pass(), pass_length()) == 1) return;
      }
    }
    // A mismatch leaves the error queue empty; anything queued means the MAC could not be computed.
    if (ERR_peek_error() == 0) fail(password_.empty() ? "wrong password (the MAC does not verify without one)"
                                                      : "wrong password (the MAC does not verify)");
    fail_openssl("PKCS12_verify_mac", "is malformed: its MAC cannot be computed");
  }

  const char* pass() const noexcept { return mac_pass_; }
  int pass_length() const noexcept { return static_cast<int>(mac_pass_ == nullptr ? 0 : password_.size()); }

  // The nesting was bounded by price_bags, which saw every stack first.
  void collect(const STACK_OF(PKCS12_SAFEBAG) * bags) {
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
      switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_keyBag: {
          const PKCS8_PRIV_KEY_INFO* info = PKCS12_SAFEBAG_get0_p8inf(bag);
          if (info == nullptr) fail("is malformed: a key bag is empty");
          add_key(info);
          break;
        }
        case NID_pkcs8ShroudedKeyBag: {
          pkcs8_priv_key_info_ptr info{PKCS12_decrypt_skey_ex(bag, pass(), pass_length(), nullptr, nullptr)};
          if (!info)
            fail_openssl("PKCS12_decrypt_skey_ex", "the private key does not decrypt with the password its MAC "
                                                   "accepts: the file is corrupt");
          add_key(info.get());
          break;
        }
        case NID_certBag: {
          // SDSI certificates, the other kind a certBag may hold, are not X.509: nothing tlsfix uses.
          if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate) break;
          x509_ptr cert{PKCS12_SAFEBAG_get1_cert(bag)};
          if (!cert) fail_openssl("PKCS12_SAFEBAG_get1_cert", "is malformed: a certificate does not parse");
          certs_.push_back(certificate::from_native(cert.get()));
          break;
        }
        case NID_safeContentsBag: collect(PKCS12_SAFEBAG_get0_safes(bag)); break;
        default: break;  // CRLs and secrets: nothing a TLS identity needs
      }
    }
  }

  void add_key(const PKCS8_PRIV_KEY_INFO* info) {
    if (key_) fail("holds more than one private key; tlsfix reads a file with one identity");
    key_.reset(EVP_PKCS82PKEY_ex(info, nullptr, nullptr));
    if (!key_) fail_openssl("EVP_PKCS82PKEY_ex", "its private key does not parse");
  }

  pkcs12_contents assemble() {
    pkcs12_contents out;
    if (!key_ && certs_.empty()) fail("holds neither a certificate nor a private key");
    size_t leaf = 0;
    if (key_) {
      try {
        out.key = private_key::from_native(key_.get());
      } catch (const error& e) {
        throw e.within(what_);
      }
      leaf = certs_.size();
      for (size_t i = 0; i < certs_.size() && leaf == certs_.size(); ++i) {
        EVP_PKEY* public_key = X509_get0_pubkey(certs_[i].native());
        if (public_key != nullptr && EVP_PKEY_eq(public_key, key_.get()) == 1) leaf = i;
      }
      // Comparing keys of different types, or a certificate whose key does not decode, queues errors.
      detail::drain_openssl_errors();
      if (!certs_.empty() && leaf == certs_.size())
        fail("its private key belongs to none of its " + std::to_string(certs_.size()) + " certificates");
    }
    for (size_t i = 0; i < certs_.size(); ++i) {
      if (i == leaf)
        out.leaf = certs_[i];
      else
        out.chain.push_back(certs_[i]);
    }
    return out;
  }

  std::string password_;
  std::string what_;
  // The password as the MAC accepted it, which every decryption then uses.
  const char* mac_pass_ = nullptr;
  std::uint64_t charged_ = 0;
  std::vector<safebag_stack_ptr> plain_;
  evp_pkey_ptr key_;
  std::vector<certificate> certs_;
};

}  // namespace

pkcs12_contents read_pkcs12(std::string_view der, std::string_view password, std::string_view what) {
  return reader(password, what).read(der);
}

bool is_pkcs12(std::string_view data) noexcept {
  if (data.empty() || data.size() > pkcs12_size_limit) return false;
  const auto* cursor = reinterpret_cast<const unsigned char*>(data.data());
  pkcs12_ptr p12{d2i_PKCS12(nullptr, &cursor, static_cast<long>(data.size()))};
  ERR_clear_error();
  return p12 && cursor == reinterpret_cast<const unsigned char*>(data.data() + data.size());
}

}  // namespace tlsfix::ca
