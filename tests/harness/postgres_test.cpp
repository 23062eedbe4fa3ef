// PostgreSQL clients (libpq, in this process) against tls_server and the impostor catalog with
// protocol::postgres: the SSLRequest before TLS, then the stand-in backend. Each libpq mode does
// exactly what its documentation says: verify-full checks chain and name, verify-ca (and require
// with a root file) the chain only, require without one nothing, prefer falls back to plaintext.
#include <libpq-fe.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include <tlsfix/harness.hpp>

#include "error_text.hpp"
#include "fault_support.hpp"
#include "impostor_fixture.hpp"
#include "support.hpp"

namespace {

using namespace tlsfix;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

struct connection_closer {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using connection = std::unique_ptr<PGconn, connection_closer>;

// Connects by name (host) on 127.0.0.1 (hostaddr), runs `query`, and says what came back: the
// one value, or libpq's error.
harness::connect_outcome libpq_query(const std::string& host, std::uint16_t port, const std::string& settings,
                                     const std::string& query = "select 1") {
  std::string conninfo = "host=" + host + " hostaddr=127.0.0.1 port=" + std::to_string(port) +
                         " user=u dbname=d connect_timeout=10 gssencmode=disable " + settings;
  connection c(PQconnectdb(conninfo.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) return {false, PQerrorMessage(c.get())};
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(c.get(), query.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return {false, PQresultErrorMessage(result.get())};
  std::string value = PQgetvalue(result.get(), 0, 0);
  return {true, value + (PQgetssl(c.get()) ? " (TLS)" : " (plaintext)")};
}

TEST(PostgresServerTest, LibpqVerifyFullConnectsByNameAndQueries) {
  auto root = ca::certificate_authority::create();
  auto server = harness::tls_server::start(root.issue("postgres.test.local"),
                                           harness::postgres_handler([](const std::string& q) { return "you said " + q; }),
                                           // Any SNI gets the certificate, so that libpq's own name check is tested.
                                           {.protocol = harness::protocol::postgres, .answer_any_name = true});
  auto ca = ca::temp_file(root.root().to_pem());
  auto ok = libpq_query("postgres.test.local", server.port(), "sslmode=verify-full sslrootcert=" + ca.path().string());
  EXPECT_TRUE(ok.connected) << ok.detail;
  EXPECT_EQ(ok.detail, "you said select 1 (TLS)");
  ASSERT_TRUE(server.wait_for_handshakes(1));
  EXPECT_TRUE(server.handshakes()[0].failure.ok());
  EXPECT_EQ(server.handshakes()[0].sni, "postgres.test.local");

  // The extended protocol gets one error, and the connection stays usable after its Sync.
  {
    connection c(PQconnectdb(("host=postgres.test.local hostaddr=127.0.0.1 port=" + std::to_string(server.port()) +
                              " user=u dbname=d gssencmode=disable sslmode=verify-full sslrootcert=" + ca.path().string())
                                 .c_str()));
    ASSERT_EQ(PQstatus(c.get()), CONNECTION_OK) << PQerrorMessage(c.get());
    const char* value = "1";
    std::unique_ptr<PGresult, decltype(&PQclear)> params(PQexecParams(c.get(), "select $1", 1, nullptr, &value, nullptr, nullptr, 0),
                                                         &PQclear);
    EXPECT_EQ(PQresultStatus(params.get()), PGRES_FATAL_ERROR);
    EXPECT_THAT(PQresultErrorMessage(params.get()), HasSubstr("tlsfix: only simple queries are answered"));
    std::unique_ptr<PGresult, decltype(&PQclear)> simple(PQexec(c.get(), "select 2"), &PQclear);
    ASSERT_EQ(PQresultStatus(simple.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(simple.get());
    EXPECT_STREQ(PQgetvalue(simple.get(), 0, 0), "you said select 2");
  }

  // Negative controls: another CA, another name.
  auto other = ca::temp_file(ca::certificate_authority::create().root().to_pem());
  auto foreign = libpq_query("postgres.test.local", server.port(), "sslmode=verify-full sslrootcert=" + other.path().string());
  EXPECT_FALSE(foreign.connected);
  EXPECT_THAT(foreign.detail, HasSubstr("certificate verify failed"));
  auto wrong_name = libpq_query("other.test.local", server.port(), "sslmode=verify-full sslrootcert=" + ca.path().string());
  EXPECT_FALSE(wrong_name.connected);
  EXPECT_THAT(wrong_name.detail, HasSubstr("server certificate for \"postgres.test.local\" does not match host name \"other.test.local\""));
}

TEST(PostgresServerTest, ClientsThatSkipTheSslRequestAreRecordedAsPlaintext) {
  auto root = ca::certificate_authority::create();
  auto server = harness::tls_server::start(root.issue("postgres.test.local"),
                                           harness::postgres_handler([](const std::string&) { return "x"; }),
                                           {.protocol = harness::protocol::postgres});
  auto plain = libpq_query("postgres.test.local", server.port(), "sslmode=disable");
  EXPECT_FALSE(plain.connected);
  // A TLS-first client is not a PostgreSQL client either.
  auto tls_first = server.client().handshake();
  EXPECT_FALSE(tls_first.ok());
  ASSERT_TRUE(server.wait_for_handshakes(2));
  for (const auto& record : server.handshakes()) {
    EXPECT_EQ(record.failure.kind, harness::failure_kind::plaintext);
    EXPECT_EQ(record.failure.reason, "no PostgreSQL SSLRequest");
  }
  EXPECT_EQ(server.plaintext_attempts(), 2u);
}

// Hostile openings: garbage instead of an SSLRequest, a truncated one, silence, a GSSENCRequest
// first. Each is closed or answered as a PostgreSQL server would, and the server then serves a
// correct client.
TEST(PostgresServerTest, SurvivesGarbageTruncatedAndSilentOpenings) {
  auto root = ca::certificate_authority::create();
  auto server = harness::tls_server::start(root.issue("postgres.test.local"),
                                           harness::postgres_handler([](const std::string&) { return "still here"; }),
                                           {.protocol = harness::protocol::postgres,
                                            .handshake_timeout = std::chrono::milliseconds(500)});
  {
    auto garbage = fault::connect_loopback(server.port());
    fault::send_all(garbage, "GET / HTTP/1.1\r\n\r\n");
    auto r = fault::read_until_closed(garbage);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.received, "") << "nothing answers what is not an SSLRequest";
  }
  {
    auto truncated = fault::connect_loopback(server.port());
    fault::send_all(truncated, std::string("\0\0\0\x08\x04", 5));
    EXPECT_TRUE(fault::read_until_closed(truncated).closed) << "closed at the handshake deadline";
  }
  {
    auto silent = fault::connect_loopback(server.port());
    EXPECT_TRUE(fault::read_until_closed(silent).closed);
  }
  {
    // GSSENCRequest, then SSLRequest: 'N', then 'S'.
    auto gss = fault::connect_loopback(server.port());
    fault::send_all(gss, std::string("\0\0\0\x08\x04\xd2\x16\x30", 8));
    ASSERT_TRUE(fault::wait_readable(gss));
    fault::send_all(gss, std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8));
    auto r = fault::read_until_closed(gss);  // then silence: closed at the deadline
    EXPECT_EQ(r.received, "NS");
  }
  ASSERT_TRUE(server.wait_for_handshakes(4));
  // Garbage is plaintext; the truncated, the silent and the one that sent no ClientHello after
  // 'S' ran out of time (in whatever order the server recorded them).
  std::multiset<std::string> outcomes;
  for (const auto& record : server.handshakes())
    outcomes.insert(record.failure.kind == harness::failure_kind::plaintext ? record.failure.reason
                                                                              : std::string(record.failure.kind == harness::failure_kind::timeout ? "timeout" : record.failure.message()));
  EXPECT_THAT(outcomes, UnorderedElementsAreArray({"no PostgreSQL SSLRequest", "timeout", "timeout", "timeout"}));
  EXPECT_EQ(server.plaintext_attempts(), 1u) << "silence is not a plaintext client";

  auto ca = ca::temp_file(root.root().to_pem());
  auto ok = libpq_query("postgres.test.local", server.port(), "sslmode=verify-full sslrootcert=" + ca.path().string());
  EXPECT_TRUE(ok.connected) << ok.detail;
  EXPECT_EQ(ok.detail, "still here (TLS)");
}

TEST(PostgresServerTest, ProtocolAndHandlerMustAgree) {
  auto root = ca::certificate_authority::create();
  EXPECT_THAT(test::error_from([&] {
                harness::tls_server::start(root.issue("a.test.local"), harness::echo(), {.protocol = harness::protocol::postgres});
              }),
              HasSubstr("server_options.protocol: postgres needs a postgres_handler"));
  EXPECT_THAT(test::error_from([&] {
                harness::tls_server::start(root.issue("a.test.local"),
                                           harness::postgres_handler([](const std::string&) { return std::string(); }));
              }),
              HasSubstr("server_options.protocol: a postgres_handler needs protocol postgres"));
}

class PostgresCatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    catalog_ = new harness::impostor_catalog(harness::impostor_catalog::start(harness::protocol::postgres));
  }
  static void TearDownTestSuite() {
    delete catalog_;
    catalog_ = nullptr;
  }
  static harness::check_report check(const std::string& settings) {
    return harness::check_client(*catalog_, [&](const harness::impostor& e) { return libpq_query(e.host, e.port, settings); });
  }
  static std::string root_file() { return catalog_->trust().ca_file().string(); }
  static inline harness::impostor_catalog* catalog_ = nullptr;
};

TEST_F(PostgresCatalogTest, EntriesArePostgresUrls) {
  EXPECT_EQ(catalog_->entry("good").url(), "postgresql://good.impostor.test:" + std::to_string(catalog_->entry("good").port) + "/");
}

TEST_F(PostgresCatalogTest, VerifyFullPassesAndEveryWeakerModeIsCaughtWhereItIsWeak) {
  auto full = check("sslmode=verify-full sslrootcert=" + root_file());
  EXPECT_TRUE(full.passed()) << full.table();
  for (const auto& row : full.rows) {
    if (row.entry.name == "good") {
      EXPECT_EQ(row.detail, "tlsfix impostor good (TLS)");
    }
  }

  const std::set<std::string> names{"wrong-host", "wildcard-too-deep", "ip-not-in-san"};
  EXPECT_THAT(test::failed_entries(check("sslmode=verify-ca sslrootcert=" + root_file())), UnorderedElementsAreArray(names));
  // With a root file, require is verify-ca (libpq's compatibility rule); without one, it checks
  // nothing: the classic downgrade.
  EXPECT_THAT(test::failed_entries(check("sslmode=require sslrootcert=" + root_file())), UnorderedElementsAreArray(names));
  auto unverified = check("sslmode=require sslrootcert=/nonexistent/root.crt");
  EXPECT_THAT(test::failed_entries(unverified),
              UnorderedElementsAreArray({"expired", "not-yet-valid", "wrong-host", "wildcard-too-deep", "self-signed",
                                         "untrusted-root", "lookalike-root", "incomplete-chain", "reversed-chain",
                                         "outside-constraints", "ip-not-in-san", "system-store"}));
  auto prefer = names;
  prefer.insert("plaintext");
  EXPECT_THAT(test::failed_entries(check("sslmode=prefer sslrootcert=" + root_file())), UnorderedElementsAreArray(prefer));
  // disable: in the clear, which only the plaintext entry lets in.
  EXPECT_THAT(test::failed_entries(check("sslmode=disable")),
              UnorderedElementsAreArray({"plaintext", "good", "no-common-name", "ecdsa-p384", "ed25519", "many-sans", "rsa-4096"}));
}

}  // namespace
