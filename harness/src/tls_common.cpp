#include "detail/tls_common.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include <ostream>

#include "tlsfix/error.hpp"
#include "tlsfix/harness/tls_version.hpp"

namespace tlsfix::harness {

std::string_view to_string(tls_version v) noexcept { return v == tls_version::tls1_3 ? "TLSv1.3" : "TLSv1.2"; }

std::ostream& operator<<(std::ostream& out, tls_version v) { return out << to_string(v); }
std::ostream& operator<<(std::ostream& out, const tls_version_range& range) {
  return out << range.min << " to " << range.max;
}

std::string_view to_string(failure_kind kind) noexcept {
  switch (kind) {
    case failure_kind::none: return "none";
    case failure_kind::connect: return "connect";
    case failure_kind::timeout: return "timeout";
    case failure_kind::closed: return "closed";
    case failure_kind::plaintext: return "plaintext";
    case failure_kind::certificate: return "certificate";
    case failure_kind::alert: return "alert";
    case failure_kind::protocol: return "protocol";
    case failure_kind::refused: return "refused";
  }
  return "unknown";
}

std::string alert_name(int alert) {
  // OpenSSL 3.0 names no alert newer than TLS 1.2 ("unknown" for certificate_required).
  switch (alert) {
    case 109: return "missing extension";
    case 116: return "certificate required";
    case 120: return "no application protocol";
    default: return SSL_alert_desc_string_long(alert);
  }
}

std::string tls_failure::message() const {
  auto with_reason = [&](std::string text) { return reason.empty() ? text : text + " (" + reason + ")"; };
  switch (kind) {
    case failure_kind::none: return "ok";
    case failure_kind::connect: return "cannot connect: " + reason;
    case failure_kind::timeout: return with_reason("timed out");
    case failure_kind::closed: return with_reason("the peer closed the connection");
    case failure_kind::plaintext: return "not TLS: the peer's first bytes were plaintext";
    case failure_kind::certificate:
      return std::string("certificate rejected: ") + X509_verify_cert_error_string(verify_error);
    case failure_kind::alert: return "peer sent alert: " + alert_name(alert_received);
    case failure_kind::protocol:
      return alert_sent >= 0 ? reason + " (sent alert: " + alert_name(alert_sent) + ")" : reason;
    case failure_kind::refused: return "connection cap reached";
  }
  return reason;
}

std::ostream& operator<<(std::ostream& out, failure_kind kind) { return out << to_string(kind); }

std::ostream& operator<<(std::ostream& out, const tls_failure& failure) {
  out << failure.kind;
  if (failure.ok()) return out;
  out << ": " << failure.message();
  if (failure.kind != failure_kind::certificate && failure.verify_error != 0) out << "; verify error " << failure.verify_error;
  return out;
}

connection_error::connection_error(std::string where, tls_failure failure)
    : tlsfix::error(std::move(where), failure.message()), failure_(std::move(failure)) {}

namespace detail {

namespace {
int openssl_version(tls_version v) { return v == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }
}  // namespace

void harden(SSL_CTX* ctx, tls_version_range versions) {
  if (versions.min > versions.max) throw tlsfix::error("versions", "min is above max");
  if (SSL_CTX_set_min_proto_version(ctx, openssl_version(versions.min)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, openssl_version(versions.max)) != 1)
    throw tlsfix::error::from_openssl("SSL_CTX_set_min_proto_version", "setting the TLS version range");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_max_early_data(ctx, 0);
}

std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols) {
  std::vector<unsigned char> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) throw tlsfix::error("alpn", "'" + p + "' must be 1 to 255 bytes long");
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
  // SSL_CB_READ_ALERT and SSL_CB_WRITE_ALERT are two bits each (alert, and read or write).
  bool read = (where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT, written = (where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT;
  if ((!read && !written) || (value >> 8) != SSL3_AL_FATAL) return;
  auto* seen = static_cast<alerts*>(SSL_get_ex_data(ssl, alert_slot_index()));
  if (seen == nullptr) return;
  int& slot = read ? seen->received : seen->sent;
  if (slot < 0) slot = value & 0xff;
}

bool is_closed(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe ||
         ec == boost::asio::error::connection_aborted;
}

}  // namespace

void ssl_deleter::operator()(SSL* ssl) const noexcept { SSL_free(ssl); }

void watch_alerts(SSL* ssl, alerts* seen) {
  SSL_set_ex_data(ssl, alert_slot_index(), seen);
  SSL_set_info_callback(ssl, on_info);
}

std::string reason(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* text = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return text;
  }
  return ec.message();
}

tls_failure classify(SSL* ssl, const boost::system::error_code& ec, const alerts& seen) {
  tls_failure f;
  f.alert_received = seen.received;
  f.alert_sent = seen.sent;
  if (!ec) return f;
  f.reason = reason(ec);
  auto verify = static_cast<int>(SSL_get_verify_result(ssl));
  if (seen.received >= 0) f.kind = failure_kind::alert;
  else if (verify != X509_V_OK) f.kind = failure_kind::certificate, f.verify_error = verify;
  else if (is_closed(ec)) f.kind = failure_kind::closed;
  else if (ec == boost::beast::error::timeout) f.kind = failure_kind::timeout;
  else f.kind = failure_kind::protocol;
  return f;
}

tls_failure classify_io(const boost::system::error_code& ec, const alerts& seen) {
  tls_failure f;
  f.alert_received = seen.received;
  f.alert_sent = seen.sent;
  if (!ec) return f;
  f.reason = reason(ec);
  f.kind = seen.received >= 0                       ? failure_kind::alert
           : is_closed(ec)                          ? failure_kind::closed
           : ec == boost::beast::error::timeout     ? failure_kind::timeout
                                                    : failure_kind::protocol;
  return f;
}

ca::x509_stack_ptr intermediates(const ca::issued_cert& identity) {
  ca::x509_stack_ptr stack{sk_X509_new_null()};
  if (!stack) throw tlsfix::error::from_openssl("sk_X509_new_null", "building a chain");
  for (std::size_t i = 1; i < identity.chain().size(); ++i)
    if (X509_add_cert(stack.get(), identity.chain()[i].native(), X509_ADD_FLAG_UP_REF) != 1)
      throw tlsfix::error::from_openssl("X509_add_cert", "building a chain");
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


}  // namespace detail
}  // namespace tlsfix::harness
