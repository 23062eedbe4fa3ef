// What init and issue share: services from flags, issuing one, and the summary both print.
//
//   topology t;
//   add_flag_services(t, {.services = {"api.test.local"}, .clients = {"worker.test.local"}});
//   resolve(t);                                     // names checked, clients known
//   auto out = render_service(t.services[0], issue_one(authority, t.services[0]));
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "spec.hpp"
#include "tlsfix/ca/certificate_authority.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

// Adds --service and --client identities to `t`; every --client becomes an mTLS client of every
// server in `t`. --key-owner and --key-group may name any service in `t`, from the spec too, that
// has no key_owner (key_group) yet. Errors name the flag (--key-type, --validity, --ip,
// --key-owner SERVICE=USER).
void add_flag_services(topology& t, const service_flags& f);

// The service's certificate; an error the CA finds is reported where the service came from
// ("--service api.test.local", "tls.yaml:4:9: services[0].name").
ca::issued_cert issue_one(const ca::certificate_authority& ca, const service_spec& s);

// "tlsfix: wrote DIR" and a line per service, for people.
std::string summary(const std::filesystem::path& dir, const nlohmann::json& services, bool key_kept);

}  // namespace tlsfix::cli
