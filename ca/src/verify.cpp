#include "tlsfix/ca/verify.hpp"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ostream>

#include "detail/names.hpp"
#include "detail/time.hpp"
#include "detail/openssl_errors.hpp"
#include "tlsfix/error.hpp"

namespace tlsfix::ca {

std::string verify_result::message() const {
  std::string text = X509_verify_cert_error_string(error);
  if (error != X509_V_OK) text += " (at depth " + std::to_string(depth) + ")";
  return text;
}

int strict_verify_callback(int preverify_ok, X509_STORE_CTX* ctx) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(ctx) != 0) return preverify_ok;
  // A leaf with CA:TRUE could sign certificates for any name below it: RFC 5280 and the CA/B
  // Forum forbid it, OpenSSL does not check it.
  X509* leaf = X509_STORE_CTX_get_current_cert(ctx);
  if (leaf != nullptr && (X509_get_extension_flags(leaf) & EXFLAG_CA) != 0) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_INVALID_NON_CA);
    return 0;
  }
  return 1;
}

void apply_strict_policy(X509_VERIFY_PARAM* param, std::string_view name, ca::purpose purpose) {
  bool server = purpose == ca::purpose::server;
  if (X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT) != 1 ||
      X509_VERIFY_PARAM_set_purpose(param, server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT) != 1 ||
      X509_VERIFY_PARAM_set_trust(param, server ? X509_TRUST_SSL_SERVER : X509_TRUST_SSL_CLIENT) != 1)
    throw error::from_openssl("X509_VERIFY_PARAM_set_*", "applying the strict verification policy");
  // Level 2: keys of at least 112 bits of security and no SHA-1 signatures anywhere in the chain.
  X509_VERIFY_PARAM_set_auth_level(param, 2);
  // SAN only (a CN is never taken for a host name) and no "f*.example.test" partial wildcards.
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

  if (name.empty()) {
    if (server) throw error("verify", "a server certificate needs a name (DNS name or IP address) to check");
    return;
  }
  auto parsed = parse_name(name, "verify name");
  int ok = 1;
  switch (parsed.kind) {
    case name_kind::dns: ok = X509_VERIFY_PARAM_set1_host(param, parsed.text.data(), parsed.text.size()); break;
    case name_kind::ipv4:
    case name_kind::ipv6:
      ok = X509_VERIFY_PARAM_set1_ip(param, reinterpret_cast<const unsigned char*>(parsed.ip_bytes.data()),
                                     parsed.ip_bytes.size());
      break;
    case name_kind::email:
      ok = X509_VERIFY_PARAM_set1_email(param, parsed.text.data(), parsed.text.size());
      break;
    case name_kind::wildcard:
      throw error("verify name", "'" + std::string(name) + "' is a wildcard pattern, not a name a peer can have");
    case name_kind::uri:
      throw error("verify name", "'" + std::string(name) + "' is a URI; OpenSSL checks only DNS, IP and email names");
  }
  if (ok != 1) throw error::from_openssl("X509_VERIFY_PARAM_set1_*", "setting the expected name");
}

verify_result verify(const certificate& leaf, const verify_options& options) {
  if (options.roots.empty()) throw error("verify_options.roots", "at least one trusted root is required");
  x509_store_ptr store{X509_STORE_new()};
  if (!store) throw error::from_openssl("X509_STORE_new", "verifying");
  for (const auto& root : options.roots)
    if (X509_STORE_add_cert(store.get(), root.native()) != 1)
      throw error::from_openssl("X509_STORE_add_cert", "adding a trusted root");
  for (const auto& list : options.crls)
    if (X509_STORE_add_crl(store.get(), list.native()) != 1) throw error::from_openssl("X509_STORE_add_crl", "adding a CRL");

  x509_stack_ptr untrusted{sk_X509_new_null()};
  if (!untrusted) throw error::from_openssl("sk_X509_new_null", "verifying");
  for (const auto& cert : options.untrusted)
    if (X509_add_cert(untrusted.get(), cert.native(), X509_ADD_FLAG_UP_REF) != 1)
      throw error::from_openssl("X509_add_cert", "collecting intermediates");

  x509_store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(), untrusted.get()) != 1)
    throw error::from_openssl("X509_STORE_CTX_init", "verifying");
  X509_STORE_CTX_set_verify_cb(ctx.get(), strict_verify_callback);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  apply_strict_policy(param, options.name, options.purpose);
  if (options.at) X509_VERIFY_PARAM_set_time(param, detail::to_time_t(*options.at));
  if (!options.crls.empty()) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);

  verify_result result;
  int outcome = X509_verify_cert(ctx.get());
  result.error = X509_STORE_CTX_get_error(ctx.get());
  result.depth = X509_STORE_CTX_get_error_depth(ctx.get());
  if (outcome < 0 && result.error == X509_V_OK) throw error::from_openssl("X509_verify_cert", "verifying");
  // Verification failures are the caller's data, not this thread's pending errors.
  detail::drain_openssl_errors();
  if (outcome == 1) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    for (int i = 0; i < sk_X509_num(chain); ++i) result.chain.push_back(certificate::from_native(sk_X509_value(chain, i)));
  }
  return result;
}

std::ostream& operator<<(std::ostream& out, const verify_result& result) {
  if (!result.ok()) return out << "X509_V_ERR " << result.error << ": " << result.message();
  out << "verified";
  for (const auto& c : result.chain) out << " <- '" << c.subject() << "'";
  return out;
}

std::ostream& operator<<(std::ostream& out, purpose p) { return out << (p == purpose::server ? "server" : "client"); }

}  // namespace tlsfix::ca
