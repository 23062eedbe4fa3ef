// Impostors: a local badssl.com that proves a client under test really verifies.
//
// A passing integration test proves little if the client would also accept a forged server. The
// impostor catalog starts one real TLS server per way of being wrong (expired, wrong host,
// untrusted or look-alike root, missing intermediate, SHA-1, RSA-1024, TLS 1.0, plaintext, ...)
// plus positive controls that a correct client must accept (intermediate chain, P-384, Ed25519,
// RSA-4096, 800 SANs). `check_client` dials every one of them with the client under test and
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
// start(protocol::postgres) serves the same entries to PostgreSQL clients (libpq, psql): each
// server answers the SSLRequest with 'S' before TLS, and the plaintext entry answers 'N'.
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
#include "tlsfix/harness/tls_server.hpp"
#include "tlsfix/harness/trust.hpp"

namespace tlsfix::harness {

enum class expectation { reject, accept };

// What accepting an entry would say about a client, and so when it counts against it:
// - baseline: it accepts a forged server (a bad chain, name, time or trust, or plaintext where
//   TLS belongs), or refuses a positive control. Every check counts these.
// - policy: it accepts weak policy (TLS 1.0 or 1.1, an RSA-1024 key, SHA-1, a clientAuth-only
//   certificate). Always run and reported; counted only with check_options::policy, since some
//   common clients have no setting to refuse them (see known_accepted_by).
// - revocation: it accepts a revoked certificate; counted only with check_options::revocation,
//   for clients that load the CRL ({crl}).
// - strict: what OpenSSL's own verifier lets through (a leaf that says CA:TRUE, a name only in
//   the CN), as tlsfix's clients do not; counted only with check_options::strict.
enum class tier { baseline, policy, revocation, strict };

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
  // Common clients known to accept this entry with their defaults ("Go 1.19, Node 20"), measured
  // by tlsfix's interop tests; empty for what every verifying client refuses.
  std::string known_accepted_by;
  harness::protocol protocol = harness::protocol::tls;

  // "https://host:port/", or "postgresql://host:port/" for a postgres catalog (IPv6-safe).
  std::string url() const;
};

class impostor_catalog {
 public:
  // Starts every server; listening when it returns. Takes about a second (an RSA-4096 key).
  // protocol::postgres: PostgreSQL's SSLRequest before TLS, and a stand-in backend after it
  // (any user logs in; a query answers "tlsfix impostor NAME").
  static impostor_catalog start(harness::protocol protocol = harness::protocol::tls);
  // The entries start() serves, in order, without their ports: for help texts and docs.
  static std::vector<impostor> listing();
  impostor_catalog(impostor_catalog&&) noexcept;
  impostor_catalog& operator=(impostor_catalog&&) noexcept;
  ~impostor_catalog();

  const std::vector<impostor>& entries() const noexcept;
  const impostor& entry(const std::string& name) const;
  // The one root a client under test must trust (and only it).
  const harness::trust& trust() const noexcept;
  // The CRLs (PEM, one after another) of every CA in every entry's chain: the trusted root's lists
  // the "revoked" entry's certificate, the others are empty. A client that checks the whole chain
  // (curl --crlfile, OpenSSL's CRL_CHECK_ALL) finds a CRL for each CA it meets.
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
  // Count the weak-policy entries too (they are run and reported either way).
  bool policy = false;
  // Also hold the client to the revocation entries (it must load catalog.crl_file()).
  bool revocation = false;
  // Also hold the client to the entries that OpenSSL's verifier lets through.
  bool strict = false;
};

struct check_row {
  impostor entry;
  bool connected = false;  // meaningless when skipped: the client never ran
  std::string detail;      // everything the client said (connect_outcome::detail)
  bool skipped = false;    // a revocation or strict entry the check did not ask for: not run
  bool counted = true;     // whether its verdict counts (a weak-policy entry without policy does not)
  bool passed = false;

  // "pass", "fail", "weak" (a policy entry the client accepted, not counted) or "skipped": the
  // one word the table and the CLI's JSON both use.
  std::string_view verdict() const noexcept;
  // The line of `detail` that carries the error (not a client's banner or "Traceback ..."), or its
  // last line when none does.
  std::string detail_line() const;
};

struct check_report {
  std::vector<check_row> rows;

  bool passed() const noexcept;
  // Counted rows the client got wrong.
  std::size_t failures() const noexcept;
  // Weak-policy entries the client accepted without the check counting them.
  std::size_t weaknesses() const noexcept;
  // A fixed-width table for people: entry, expected, actual ("-" when not run), verdict, detail line.
  std::string table() const;
};

// Runs `connect` against every entry, one at a time, and reports. A client that throws counts as
// not connected, with the exception's message as detail. It does not touch the process's
// environment (other threads may read it): a client that may read the system store must run
// with catalog.environment(), the decoy, for the "system-store" entry to hold it. The fixtures'
// CheckClient() and EXPECT_CLIENT_REJECTS_IMPOSTORS do that for the length of the check, and
// `tlsfix check-client` gives each program the decoy in place of the system's stores.
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
