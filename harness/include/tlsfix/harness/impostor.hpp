// Impostors: a local badssl.com that proves a client under test really verifies.
//
// A passing integration test proves little if the client would also accept a forged server. The
// impostor catalog starts one real TLS server per way of being wrong (expired, wrong host,
// untrusted or look-alike root, missing intermediate, SHA-1, RSA-1024, TLS 1.0, plaintext, ...)
// plus positive controls that a correct client must accept (intermediate chain, P-384, Ed25519,
// RSA-4096, 1,000 SANs). `check_client` dials every one of them with the client under test and
// reports; the client passes only if it rejects every impostor and accepts every control.
//
//   auto catalog = tlsfix::harness::impostor_catalog::start();
//   auto report = tlsfix::harness::check_client(catalog, [&](const tlsfix::harness::impostor& entry) {
//     return my_http_client.get(entry.url(), catalog.trust().ca_file()).ok()
//                ? tlsfix::harness::connect_outcome{true}
//                : tlsfix::harness::connect_outcome{false, my_http_client.last_error()};
//   });
//   EXPECT_TRUE(report.passed()) << report.table();
//
// Every server has its own SSL_CTX; all listen on 127.0.0.1 and every name resolves there.
#pragma once

#include <iosfwd>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlsfix/ca/certificate.hpp"
#include "tlsfix/harness/trust.hpp"

namespace tlsfix::harness {

enum class expectation { reject, accept };

// Which clients must reject an impostor: every verifying client; only those that also check
// revocation; or only those stricter than OpenSSL's own verifier, as tlsfix's clients are (curl
// and python accept a leaf that says CA:TRUE, for instance).
enum class tier { baseline, revocation, strict };

struct impostor {
  std::string name;         // "expired", "wrong-host", ..., "good"
  std::string description;  // one sentence: what is wrong, or what is being controlled for
  expectation expected;
  // What a strict OpenSSL client reports: the X509_V_ERR_* code for certificate problems, 0 for
  // protocol problems and positive controls.
  int expected_verify_error = 0;
  std::string expected_error;  // the same in words ("certificate has expired", "protocol version")
  std::string host;            // the name (or IP address) to dial; resolves to 127.0.0.1
  std::uint16_t port = 0;
  harness::tier tier = harness::tier::baseline;

  // "https://host:port/" (IPv6-safe).
  std::string url() const;
};

class impostor_catalog {
 public:
  // Starts every server; listening when it returns. Takes about a second (an RSA-4096 key).
  static impostor_catalog start();
  impostor_catalog(impostor_catalog&&) noexcept;
  impostor_catalog& operator=(impostor_catalog&&) noexcept;
  ~impostor_catalog();

  const std::vector<impostor>& entries() const noexcept;
  const impostor& entry(const std::string& name) const;
  // The one root a client under test must trust (and only it).
  const harness::trust& trust() const noexcept;
  // A CRL (PEM) of the trusted root listing the "revoked" entry's certificate.
  const std::filesystem::path& crl_file() const noexcept;
  // Every host name with its port and 127.0.0.1, for curl --resolve and hosts files.
  std::vector<std::pair<std::string, std::uint16_t>> hosts() const;

  // The decoy system store: OpenSSL's SSL_CERT_FILE and SSL_CERT_DIR pointing at a root that
  // signed the "system-store" entry and nothing else. Run the client under test with it: a client that trusts the
  // default store besides the given root is then caught.
  std::vector<std::pair<std::string, std::string>> environment() const;

  void close() noexcept;

 private:
  struct impl;
  explicit impostor_catalog(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

struct connect_outcome {
  bool connected = false;  // the client completed its request (e.g. exit status 0)
  std::string detail;      // what the client said: an error text, an exit status
};

using client_under_test = std::function<connect_outcome(const impostor&)>;

struct check_options {
  // Also hold the client to the revocation entries (it must load catalog.crl_file()).
  bool revocation = false;
  // Also hold the client to the entries that OpenSSL's verifier lets through.
  bool strict = false;
};

struct check_row {
  impostor entry;
  bool connected = false;
  std::string detail;
  bool skipped = false;  // an entry of a tier the check did not ask for
  bool passed = false;

  // "pass", "fail" or "skipped": the one word the table and the CLI's JSON both use.
  std::string_view verdict() const noexcept { return skipped ? "skipped" : passed ? "pass" : "fail"; }
};

struct check_report {
  std::vector<check_row> rows;

  bool passed() const noexcept;
  std::size_t failures() const noexcept;
  // A fixed-width table for people: entry, expected, actual, verdict, detail.
  std::string table() const;
};

// Runs `connect` against every entry, one at a time, and reports. A client that throws counts as
// not connected, with the exception's message as detail.
check_report check_client(const impostor_catalog& catalog, const client_under_test& connect,
                          const check_options& options = {});

// The adapter for tlsfix's own test_client (also the reference every other client is held to).
client_under_test strict_test_client(const impostor_catalog& catalog);

std::ostream& operator<<(std::ostream& out, expectation e);  // "reject", "accept"
std::ostream& operator<<(std::ostream& out, tier t);         // "baseline", "revocation", "strict"
// "impostor 'expired' at https://expired.impostor.test:PORT/: reject (certificate has expired)".
std::ostream& operator<<(std::ostream& out, const impostor& entry);
std::ostream& operator<<(std::ostream& out, const connect_outcome& outcome);
std::ostream& operator<<(std::ostream& out, const check_row& row);
// The table.
std::ostream& operator<<(std::ostream& out, const check_report& report);

}  // namespace tlsfix::harness
