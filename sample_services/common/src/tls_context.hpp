// The two TLS contexts a service makes, from its configuration only: one it serves with, one its
// outbound calls verify with. Both trust the configured CA file alone: the machine's store plays
// no part, so a certificate from any other CA is refused however public it is.
#pragma once

#include <openssl/types.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <filesystem>

#include "sample/https_server.hpp"

namespace sample {

// TLS 1.2 or later; the chain and key from `tls`; client certificates verified against tls.ca
// (and demanded when `require_client_certificate`). Throws std::runtime_error naming the flag.
boost::asio::ssl::context server_context(const tls_files& tls, bool require_client_certificate);

// TLS 1.2 or later, peer verification against `ca` only, and the client identity when given.
boost::asio::ssl::context client_context(const std::filesystem::path& ca, const std::filesystem::path& cert,
                                         const std::filesystem::path& key);

// Why a handshake on `ssl` failed, in words an operator can act on: for a certificate the
// verifier refused, its reason ("certificate verify failed (certificate has expired)"), not just
// "certificate verify failed".
std::string handshake_error(SSL* ssl, const boost::system::error_code& ec);

}  // namespace sample
