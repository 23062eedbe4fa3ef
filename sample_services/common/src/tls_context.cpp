#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace sample {

namespace ssl = boost::asio::ssl;

namespace {

// What OpenSSL said, for a message that names the flag and the file.
std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "not usable";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "not usable";
}

void require_file(const std::filesystem::path& file, const char* flag) {
  if (file.empty()) throw std::runtime_error(std::string(flag) + " is required: this service has no plaintext mode");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw std::runtime_error(std::string(flag) + " " + file.string() + ": " + (std::filesystem::exists(file, ec) ? "not a regular file" : "no such file"));
}

void load_identity(SSL_CTX* ctx, const std::filesystem::path& cert, const std::filesystem::path& key, const char* cert_flag,
                   const char* key_flag) {
  require_file(cert, cert_flag);
  require_file(key, key_flag);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    throw std::runtime_error(std::string(cert_flag) + " " + cert.string() + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error(std::string(key_flag) + " " + key.string() + ": " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw std::runtime_error(std::string(key_flag) + " " + key.string() + " is not the key of " + cert_flag + " " + cert.string());
}

void trust_only(SSL_CTX* ctx, const std::filesystem::path& ca, const char* flag) {
  require_file(ca, flag);
  // The context starts with an empty store (no SSL_CTX_set_default_verify_paths): only this file.
  if (SSL_CTX_load_verify_file(ctx, ca.c_str()) != 1)
    throw std::runtime_error(std::string(flag) + " " + ca.string() + ": " + openssl_reason());
}

}  // namespace

std::string handshake_error(SSL* ssl, const boost::system::error_code& ec) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return "certificate verify failed (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  return ec.message();
}

ssl::context server_context(const tls_files& tls, bool require_client_certificate) {
  ssl::context ctx{ssl::context::tls_server};
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  load_identity(native, tls.cert, tls.key, "--cert", "--key");
  trust_only(native, tls.ca, "--ca");
  // Serve exactly the configured chain: without this OpenSSL completes it from the verify store
  // (the root that callers must chain to), which a client then sees as a root it was sent.
  SSL_CTX_set_mode(native, SSL_MODE_NO_AUTO_CHAIN);
  // Tell clients which CA their certificate must come from (the CertificateRequest's list).
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str())) SSL_CTX_set_client_CA_list(native, names);
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | (require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
  // Callers' certificates must say they are for clients.
  X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(native), X509_PURPOSE_SSL_CLIENT);
  return ctx;
}

ssl::context client_context(const std::filesystem::path& ca, const std::filesystem::path& cert, const std::filesystem::path& key) {
  ssl::context ctx{ssl::context::tls_client};
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  trust_only(native, ca, "--ca");
  if (!cert.empty() || !key.empty()) load_identity(native, cert, key, "--client-cert", "--client-key");
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(native), X509_PURPOSE_SSL_SERVER);
  return ctx;
}

}  // namespace sample
