// Runs the verb the command line names: the grammar (grammar.cpp) parses, the verb (verbs.hpp) acts,
// and errors become the documented exit statuses and messages.
#include "commands.hpp"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "grammar.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/harness/impostor.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

namespace {

// The catalog's entries for --help: tier, and the common clients known to accept each.
std::string entry_list() {
  std::string out = "Entries (tier: baseline unless said; known to be accepted by):\n";
  for (const auto& e : harness::impostor_catalog::listing()) {
    std::ostringstream tier;
    tier << e.tier;
    std::string line = "  " + e.name;
    line.resize(std::max<std::size_t>(line.size() + 1, 23), ' ');
    line += (e.expected == harness::expectation::accept ? "control: " : "") + e.description;
    if (e.tier != harness::tier::baseline) line.append(" [").append(tier.str()).append("]");
    if (!e.known_accepted_by.empty()) line += "; accepted by " + e.known_accepted_by;
    out += line + "\n";
  }
  return out;
}

// Each verb's options to the verb: most return what they printed, serve and proxy write as they go.
struct performing {
  std::ostream& out;
  std::ostream& err;

  int report(const verb_result& r) const {
    out << r.out << std::flush;
    err << r.err << std::flush;
    return r.status;
  }
  int operator()(const init_options& o) const { return report(init(o)); }
  int operator()(const issue_options& o) const { return report(issue(o)); }
  int operator()(const env_options& o) const { return report(env(o)); }
  int operator()(const run_options& o) const { return report(run(o)); }
  int operator()(const probe_options& o) const { return report(probe(o)); }
  int operator()(const verify_options& o) const { return report(verify(o)); }
  int operator()(const check_expiry_options& o) const { return report(check_expiry(o)); }
  int operator()(const serve_options& o) const { return serve(o, out, err); }
  int operator()(const proxy_options& o) const { return proxy(o, out, err); }
  int operator()(const trust_install_options& o) const { return report(trust_install(o)); }
  int operator()(const trust_uninstall_options& o) const { return report(trust_uninstall(o)); }
  int operator()(const check_client_options& o) const { return report(check_client(o)); }
};

}  // namespace

int run_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse_command_line(args, out, err, entry_list());
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  const auto& c = std::get<command>(parsed);
  try {
    return std::visit(performing{out, err}, c.options);
  } catch (const tlsfix::error& e) {
    err << "tlsfix " << c.verb << ": " << (e.field().empty() ? e.problem() : e.field() + ": " + e.problem()) << '\n';
    if (!e.openssl_call().empty()) err << "  OpenSSL: " << e.openssl_call() << " failed\n";
    for (const auto& entry : e.openssl_errors()) err << "  OpenSSL: " << entry << '\n';
    return usage_error;
  } catch (const std::exception& e) {
    err << "tlsfix " << c.verb << ": " << e.what() << '\n';
    return usage_error;
  }
}

}  // namespace tlsfix::cli
