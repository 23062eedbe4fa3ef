// The command line's grammar: every verb's flags, validators and required arguments, with argv as
// the input split at NUL bytes. Only parse_command_line runs, so nothing is executed, written or
// started. Beyond not crashing, a parse either yields a verb whose required words are there and
// whose paths are not empty (the not_empty validator), or exit status 0 (--help, --version) or 1.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "grammar.hpp"

namespace {

void require(bool holds) {
  if (!holds) std::abort();
}

// What the grammar promises each verb, whichever flags came with it.
struct check_required {
  template <typename Options>
  void operator()(const Options& o) const {
    if constexpr (requires { o.dir.empty(); }) require(!o.dir.empty());
    if constexpr (requires { o.ca_file.empty(); }) require(!o.ca_file.empty());
    if constexpr (requires { o.command.empty(); }) require(!o.command.empty());
  }
  void operator()(const tlsfix::cli::verify_options& o) const { require(!o.cert.empty() && !o.ca_file.empty()); }
  void operator()(const tlsfix::cli::trust_install_options& o) const { require(!o.ca.empty()); }
  void operator()(const tlsfix::cli::trust_uninstall_options& o) const { require(!o.ca.empty()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  while (!rest.empty()) {
    auto end = rest.find('\0');
    args.emplace_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  std::ostream discard(nullptr);  // no buffer: help and errors are formatted, then dropped
  auto parsed = tlsfix::cli::parse_command_line(args, discard, discard, "Entries:\n  good  control\n");
  if (const int* status = std::get_if<int>(&parsed)) {
    require(*status == 0 || *status == 1);
    return 0;
  }
  const auto& c = std::get<tlsfix::cli::command>(parsed);
  require(!c.verb.empty());
  std::visit(check_required{}, c.options);
  return 0;
}
