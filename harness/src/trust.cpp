#include "tlsfix/harness/trust.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

#include <mutex>
#include <optional>
#include <ostream>

#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"
#include "tlsfix/ca/handles.hpp"

namespace tlsfix::harness {

struct trust::file_state {
  std::once_flag once;
  std::optional<ca::temp_file> file;
  std::filesystem::path existing;  // from_file(): used as it is, never written or removed
};

trust::trust(ca::certificate root) : trust(std::vector<ca::certificate>{std::move(root)}) {}

trust::trust(std::vector<ca::certificate> roots) : roots_(std::move(roots)), file_(std::make_shared<file_state>()) {
  if (roots_.empty()) throw tlsfix::error("trust", "at least one root certificate is required");
}

trust trust::from_file(const std::filesystem::path& ca_file) {
  trust roots{ca::certificate::chain_from_pem(ca::read_file(ca_file), ca_file.string())};
  roots.file_->existing = std::filesystem::absolute(ca_file);
  return roots;
}

void trust::install(SSL_CTX* ctx) const {
  // A fresh store holding only our roots: nothing from the system store, nothing left over.
  ca::x509_store_ptr store{X509_STORE_new()};
  if (!store) throw tlsfix::error::from_openssl("X509_STORE_new", "installing trust");
  for (const auto& root : roots_)
    if (X509_STORE_add_cert(store.get(), root.native()) != 1)
      throw tlsfix::error::from_openssl("X509_STORE_add_cert", "installing trust");
  SSL_CTX_set_cert_store(ctx, store.release());  // set (not set1): the context owns the store now
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
}

void trust::install(boost::asio::ssl::context& ctx) const { install(ctx.native_handle()); }

const std::filesystem::path& trust::ca_file() const {
  if (!file_->existing.empty()) return file_->existing;
  std::call_once(file_->once, [&] { file_->file.emplace(ca::to_pem(roots_), "ca.pem"); });
  return file_->file->path();
}

std::vector<std::pair<std::string, std::string>> trust::environment() const {
  std::string path = ca_file().string();
  // The CA file's own directory doubles as an empty CA directory (OpenSSL looks there only for
  // <hash>.0 names), so that OpenSSL-based programs cannot fall back to the machine's store.
  return {{"SSL_CERT_FILE", path},
          {"SSL_CERT_DIR", ca_file().parent_path().string()},
          {"CURL_CA_BUNDLE", path},
          {"REQUESTS_CA_BUNDLE", path},
          {"NODE_EXTRA_CA_CERTS", path},
          {"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", path}};
}

std::vector<std::string> trust::curl_args(const std::string& name, std::uint16_t port, const std::string& address) const {
  // curl wants an IPv6 address in brackets inside --resolve.
  std::string addr = ca::url_host(address);
  // --capath too: curl otherwise still consults its built-in CA directory (/etc/ssl/certs).
  return {"--cacert", ca_file().string(), "--capath", ca_file().parent_path().string(), "--resolve",
          name + ":" + std::to_string(port) + ":" + addr};
}

std::ostream& operator<<(std::ostream& out, const trust& roots) {
  out << "trust of " << roots.roots().size() << (roots.roots().size() == 1 ? " root:" : " roots:");
  for (const auto& root : roots.roots()) out << " '" << root.subject() << "'";
  return out;
}

}  // namespace tlsfix::harness
