#include "detail/tls_common.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>

#include "tlsfix/ca/error.hpp"
#include "tlsfix/harness/tls_version.hpp"

namespace tlsfix::harness {

std::string_view to_string(tls_version v) noexcept { return v == tls_version::tls1_3 ? "TLSv1.3" : "TLSv1.2"; }

namespace detail {

namespace {
int openssl_version(tls_version v) { return v == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }
}  // namespace

void harden(SSL_CTX* ctx, tls_version_range versions) {
  if (versions.min > versions.max) throw ca::error("versions: min is above max");
  if (SSL_CTX_set_min_proto_version(ctx, openssl_version(versions.min)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, openssl_version(versions.max)) != 1)
    ca::detail::throw_openssl("SSL_CTX_set_min_proto_version", "setting the TLS version range");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_max_early_data(ctx, 0);
}

std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols) {
  std::vector<unsigned char> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) throw ca::error("alpn: '" + p + "' must be 1 to 255 bytes long");
    wire.push_back(static_cast<unsigned char>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  return wire;
}

namespace {

int alert_slot_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_info(const SSL* ssl, int where, int value) {
  // SSL_CB_READ_ALERT is two bits (alert, read): a written alert shares the first one.
  if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT || (value >> 8) != SSL3_AL_FATAL) return;
  auto* slot = static_cast<int*>(SSL_get_ex_data(ssl, alert_slot_index()));
  if (slot != nullptr && *slot < 0) *slot = value & 0xff;
}

class alert_category : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls alert"; }
  std::string message(int alert) const override {
    // OpenSSL 3.0 names no alert newer than TLS 1.2 ("unknown" for certificate_required).
    switch (alert) {
      case 109: return "peer sent alert: missing extension";
      case 116: return "peer sent alert: certificate required";
      case 120: return "peer sent alert: no application protocol";
      default: return std::string("peer sent alert: ") + SSL_alert_desc_string_long(alert);
    }
  }
};

}  // namespace

void watch_alerts(SSL* ssl, int* alert) {
  SSL_set_ex_data(ssl, alert_slot_index(), alert);
  SSL_set_info_callback(ssl, on_info);
}

std::error_code alert_error(int alert) {
  static const alert_category category;
  return {alert, category};
}

std::string reason(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* text = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return text;
  }
  return ec.message();
}

ca::x509_stack_ptr intermediates(const ca::issued_cert& identity) {
  ca::x509_stack_ptr stack{sk_X509_new_null()};
  if (!stack) ca::detail::throw_openssl("sk_X509_new_null", "building a chain");
  for (std::size_t i = 1; i < identity.chain().size(); ++i)
    if (X509_add_cert(stack.get(), identity.chain()[i].native(), X509_ADD_FLAG_UP_REF) != 1)
      ca::detail::throw_openssl("X509_add_cert", "building a chain");
  return stack;
}

negotiated negotiated_on(SSL* ssl) {
  negotiated out;
  out.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) out.cipher = SSL_CIPHER_get_name(cipher);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  if (alpn) out.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  return out;
}

std::string subject_of(X509* cert) { return cert ? ca::certificate::from_native(cert).subject() : std::string(); }

}  // namespace detail
}  // namespace tlsfix::harness
