// A user's integration suite against the installed package: tlsfix::fixtures_main, TlsTest, a
// matcher, and the user's own client reaching a fixture server by name.
#include <netdb.h>

#include <tlsfix/fixtures.hpp>

namespace {

using namespace tlsfix::fixtures;

class InstalledSuite : public TlsTest {};

TEST_F(InstalledSuite, ServesByNameOverVerifiedTls) {
  auto& server = StartServer(Issue("installed.test.local"), Answer("ok"));
  EXPECT_EQ(Client(server).get("/").body(), "ok");
  EXPECT_THAT(Client(server).handshake(), Succeeds());
}

TEST_F(InstalledSuite, NamesResolveForTheUsersOwnCode) {
  EXPECT_EQ(NameResolutionProblem(), "");
  addrinfo* result = nullptr;
  ASSERT_EQ(::getaddrinfo("installed.test.local", "443", nullptr, &result), 0);
  ::freeaddrinfo(result);
}

}  // namespace
