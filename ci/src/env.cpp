// `tlsfix env DIR`: the directory's environment variables for shells, GitHub Actions, dotenv or
// JSON. Paths are computed from where the directory is now, so a moved directory still works.
#include "directory.hpp"
#include "outputs.hpp"
#include "verbs.hpp"

namespace tlsfix::cli {

verb_result env(const env_options& o) {
  auto format = parse_env_format(o.format);
  auto dir = tlsfix_dir::open(o.dir);
  return {.out = format_env(environment(harness::trust::from_file(dir.ca_file()), dir.path(), dir.services()), format)};
}

}  // namespace tlsfix::cli
