// `tlsfix serve DIR --service NAME`: a verified HTTPS endpoint on loopback for a directory's
// service, answering every request with a short text naming the service (a target for clients
// under test, health checks and `tlsfix probe`).
#include "serving.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

int serve(const serve_options& o, std::ostream& out, std::ostream& err) {
  auto dir = tlsfix_dir::open(o.dir);
  auto identity = identity_from_dir(dir, o.service);
  std::optional<harness::trust> client_trust;
  if (o.client_auth) client_trust = harness::trust::from_file(dir.ca_file());
  std::string service = o.service;
  harness::http_handler answer = [service](const harness::http_request& req) {
    return harness::text_response(req, 200, "tlsfix serve: " + service + " " + std::string(req.method_string()) + " " +
                                                std::string(req.target()) + "\n");
  };
  return run_server(
      [&] {
        return harness::tls_server::start(identity, answer,
                                          {.client_auth = o.client_auth ? harness::client_auth::required : harness::client_auth::none,
                                           .client_trust = client_trust,
                                           .port = o.port.value_or(0)});
      },
      "", o.serving, out, err);
}

}  // namespace tlsfix::cli
