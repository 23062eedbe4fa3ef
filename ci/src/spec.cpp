#include "spec.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "durations.hpp"
#include "names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

namespace {

using json = nlohmann::json;

// A parsed spec as JSON plus, for YAML, where each node came from (keyed by its path).
struct document {
  std::string file;
  json root;
  std::map<std::string, std::string> positions;

  // "tls.yaml:12:5: services[1].name", or the file alone where a position is unknown.
  std::string where(const std::string& path) const {
    auto it = positions.find(path);
    std::string at = it != positions.end() ? file + ":" + it->second : file;
    return path.empty() ? at : at + ": " + path;
  }
  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw tlsfix::error(where(path), problem);
  }
};

std::string position(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// Where each YAML document starts, and nothing else: enough to tell one document from two.
struct document_marks : YAML::EventHandler {
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// What a spec may expand to. yaml-cpp resolves an alias to the node it names, so nested aliases
// ("billion laughs") expand exponentially here and `&a [*a]` is a cycle; a spec needs four levels
// and a few thousand nodes, so these bounds stop both in microseconds and refuse nothing real.
constexpr int max_depth = 16;
constexpr std::size_t max_nodes = 20000;

// YAML scalars stay strings: every leaf of the schema is text ("90d", "ecdsa-p256", "127.0.0.1").
json from_yaml(const YAML::Node& node, const std::string& path, document& doc, int depth, std::size_t& nodes) {
  if (depth > max_depth)
    doc.fail(path, "nested more than " + std::to_string(max_depth) + " levels deep (an alias that contains itself?)");
  if (++nodes > max_nodes)
    doc.fail(path, "expands to more than " + std::to_string(max_nodes) + " values (aliases that repeat each other?)");
  // A map entry is recorded at its key (set by the caller), which is where an editor should jump.
  doc.positions.emplace(path, position(node.Mark()));
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) {
        if (!item.first.IsScalar()) doc.fail(path, "a key must be plain text (at " + position(item.first.Mark()) + ")");
        auto key = item.first.as<std::string>();
        std::string child = path.empty() ? key : path + "." + key;
        // yaml-cpp keeps both entries of a repeated key; which one wins would be a guess.
        if (out.contains(key)) throw tlsfix::error(doc.file + ":" + position(item.first.Mark()) + ": " + child,
                                                   "repeated key (first at " + doc.positions[child] + ")");
        doc.positions[child] = position(item.first.Mark());
        out[key] = from_yaml(item.second, child, doc, depth + 1, nodes);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (std::size_t i = 0; i < node.size(); ++i)
        out.push_back(from_yaml(node[i], path + "[" + std::to_string(i) + "]", doc, depth + 1, nodes));
      return out;
    }
    case YAML::NodeType::Scalar: return node.Scalar();
    default: return nullptr;
  }
}

document parse(std::string_view text, const std::filesystem::path& file) {
  document doc{file.string(), {}, {}};
  auto ext = file.extension().string();
  if (ext == ".json") {
    try {
      // nlohmann keeps the last of a repeated key; a spec that says two things is refused instead.
      std::vector<std::set<std::string>> keys;
      doc.root = json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > max_depth) throw tlsfix::error(doc.file, "nested more than " + std::to_string(max_depth) + " levels deep");
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        if (event == json::parse_event_t::object_end) keys.pop_back();
        if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second)
          throw tlsfix::error(doc.file, "repeated key \"" + parsed.get<std::string>() + "\"");
        return true;
      });
    } catch (const json::parse_error& e) {
      // nlohmann reports a byte offset; editors want a line and column.
      std::size_t line = 1, column = 1;
      for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
        if (text[i] == '\n') ++line, column = 1;
        else ++column;
      }
      std::string what = e.what();
      auto detail = what.find("syntax error");
      throw tlsfix::error(doc.file + ":" + std::to_string(line) + ":" + std::to_string(column),
                          detail != std::string::npos ? what.substr(detail) : what);
    }
  } else {
    YAML::Node first;
    try {
      first = YAML::Load(std::string(text));
      // yaml-cpp 0.7's LoadAll never returns on some malformed input (fuzz/regressions/spec/
      // loadall-never-ends), so documents are counted here, two at most, by a parser that builds nothing.
      std::istringstream in{std::string(text)};
      YAML::Parser parser(in);
      document_marks marks;
      if (parser.HandleNextDocument(marks) && parser.HandleNextDocument(marks) && marks.starts.size() > 1)
        throw tlsfix::error(doc.file + ":" + position(marks.starts[1]), "a second YAML document ('---'): a spec is one document");
    } catch (const YAML::Exception& e) {
      throw tlsfix::error(doc.file + ":" + position(e.mark), e.msg);
    }
    std::size_t nodes = 0;
    doc.root = first ? from_yaml(first, "", doc, 0, nodes) : json(nullptr);
  }
  if (!doc.root.is_object()) doc.fail("", "expected a map with `services` (and optionally `ca`)");
  return doc;
}

void only_keys(const document& doc, const json& node, const std::string& path, std::initializer_list<const char*> keys) {
  if (!node.is_object()) doc.fail(path, "expected a map");
  for (const auto& item : node.items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture one
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
      std::string expected;
      for (const char* k : keys) expected += (expected.empty() ? "" : ", ") + std::string(k);
      doc.fail(path.empty() ? key : path + "." + key, "unknown key (expected one of: " + expected + ")");
    }
  }
}

std::string text(const document& doc, const json& node, const std::string& path) {
  if (!node.is_string()) doc.fail(path, "expected a string");
  return node.get<std::string>();
}

std::vector<std::string> list(const document& doc, const json& node, const std::string& path) {
  if (node.is_string()) return {node.get<std::string>()};
  if (!node.is_array()) doc.fail(path, "expected a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(text(doc, node[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

template <typename F>
auto value(const document& doc, const std::string& path, F&& parse_value) {
  try {
    return parse_value();
  } catch (const tlsfix::error& e) {
    throw e.within(doc.where(path));
  }
}

// "999" as an id; -1 is chown(2)'s "leave it", never an id.
std::optional<unsigned> numeric_id(std::string_view text) {
  unsigned id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || id == static_cast<unsigned>(-1)) return {};
  return id;
}

bool in_group(gid_t gid) {
  if (gid == ::getegid()) return true;
  int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(std::max(n, 0)));
  n = ::getgroups(n, groups.data());
  groups.resize(static_cast<std::size_t>(std::max(n, 0)));
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

// The kernel's rule for chown(2) without root: no other user, only a group this process is in.
// (A non-root process with CAP_CHOWN is refused here too.)
void check_can_give(const service_spec& s) {
  if (::geteuid() == 0) return;
  std::string key = "the key of '" + s.name + "'";
  if (s.key_owner && s.key_owner->id != ::geteuid())
    throw tlsfix::error(s.key_owner->where, "giving " + key + " to user '" + s.key_owner->name + "' needs root (tlsfix runs as uid " +
                                                std::to_string(::geteuid()) + ")");
  if (s.key_group && !in_group(s.key_group->id))
    throw tlsfix::error(s.key_group->where, "giving " + key + " to group '" + s.key_group->name +
                                                "' needs root, or a user in that group");
}

}  // namespace

account find_user(std::string_view text, std::string where) {
  std::string name(text);
  if (const passwd* user = name.empty() ? nullptr : ::getpwnam(name.c_str())) return {name, user->pw_uid, std::move(where)};
  if (auto id = numeric_id(text)) return {name, *id, std::move(where)};
  throw tlsfix::error(std::move(where), "no user '" + name + "' on this machine (give a user name or a numeric uid)");
}

account find_group(std::string_view text, std::string where) {
  std::string name(text);
  if (const group* g = name.empty() ? nullptr : ::getgrnam(name.c_str())) return {name, g->gr_gid, std::move(where)};
  if (auto id = numeric_id(text)) return {name, *id, std::move(where)};
  throw tlsfix::error(std::move(where), "no group '" + name + "' on this machine (give a group name or a numeric gid)");
}

std::vector<std::string> service_spec::all_names() const {
  std::vector<std::string> out{name};
  for (const auto* group : {&names, &ips})
    for (const auto& n : *group)
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

std::string usage_word(ca::usage u) {
  switch (u) {
    case ca::usage::server: return "server";
    case ca::usage::client: return "client";
    case ca::usage::server_and_client: return "both";
  }
  return "server";
}

ca::usage parse_usage(std::string_view t, std::string_view where_) {
  if (t == "server") return ca::usage::server;
  if (t == "client") return ca::usage::client;
  if (t == "both" || t == "server_and_client") return ca::usage::server_and_client;
  throw tlsfix::error(std::string(where_), "'" + std::string(t) + "' is not a usage (server, client, both)");
}

topology load_spec(const std::filesystem::path& file) { return parse_spec(ca::read_file(file), file); }

topology parse_spec(std::string_view contents, const std::filesystem::path& file) {
  document doc = parse(contents, file);
  topology t;
  only_keys(doc, doc.root, "", {"ca", "services"});
  if (doc.root.contains("ca")) {
    const auto& c = doc.root["ca"];
    only_keys(doc, c, "ca", {"key", "validity", "allow_names"});
    if (c.contains("key")) t.ca_key = value(doc, "ca.key", [&] { return ca::parse_key_type(text(doc, c["key"], "ca.key")); });
    if (c.contains("validity"))
      t.ca_validity = value(doc, "ca.validity", [&] { return parse_duration(text(doc, c["validity"], "ca.validity"), ""); });
    if (c.contains("allow_names")) {
      t.allow_names = list(doc, c["allow_names"], "ca.allow_names");
      for (std::size_t i = 0; i < t.allow_names.size(); ++i) {
        std::string path = "ca.allow_names[" + std::to_string(i) + "]";
        value(doc, path, [&] { return parse_allowed_name(t.allow_names[i], ""); });
      }
    }
  }
  if (!doc.root.contains("services") || !doc.root["services"].is_array() || doc.root["services"].empty())
    doc.fail(doc.root.contains("services") ? "services" : "", "expected `services`: a non-empty list of services");
  const auto& services = doc.root["services"];
  for (std::size_t i = 0; i < services.size(); ++i) {
    std::string p = "services[" + std::to_string(i) + "]";
    const auto& s = services[i];
    only_keys(doc, s, p, {"name", "names", "ips", "key", "validity", "usage", "clients", "p12_password", "key_owner", "key_group"});
    if (!s.contains("name")) doc.fail(p, "missing `name`");
    service_spec spec;
    spec.where = doc.where(p + ".name");
    spec.name = text(doc, s["name"], p + ".name");
    if (s.contains("names")) spec.names = list(doc, s["names"], p + ".names");
    if (s.contains("ips")) spec.ips = list(doc, s["ips"], p + ".ips");
    for (std::size_t j = 0; j < spec.names.size(); ++j) spec.names_where.push_back(doc.where(p + ".names[" + std::to_string(j) + "]"));
    for (std::size_t j = 0; j < spec.ips.size(); ++j) {
      spec.ips_where.push_back(doc.where(p + ".ips[" + std::to_string(j) + "]"));
      if (!ca::is_ip_address(spec.ips[j])) doc.fail(p + ".ips[" + std::to_string(j) + "]", "'" + spec.ips[j] + "' is not an IP address");
    }
    if (s.contains("key")) spec.key = value(doc, p + ".key", [&] { return ca::parse_key_type(text(doc, s["key"], p + ".key")); });
    if (s.contains("validity"))
      spec.validity = value(doc, p + ".validity", [&] { return parse_duration(text(doc, s["validity"], p + ".validity"), ""); });
    spec.validity_given = s.contains("validity");
    if (s.contains("usage")) spec.usage = value(doc, p + ".usage", [&] { return parse_usage(text(doc, s["usage"], p + ".usage"), ""); });
    if (s.contains("clients")) spec.clients = list(doc, s["clients"], p + ".clients");
    if (s.contains("p12_password")) spec.p12_password = text(doc, s["p12_password"], p + ".p12_password");
    if (s.contains("key_owner")) spec.key_owner = find_user(text(doc, s["key_owner"], p + ".key_owner"), doc.where(p + ".key_owner"));
    if (s.contains("key_group")) spec.key_group = find_group(text(doc, s["key_group"], p + ".key_group"), doc.where(p + ".key_group"));
    t.services.push_back(std::move(spec));
  }
  return t;
}

namespace {

// A service's name is also a directory, an env prefix and a Kubernetes Secret: two services may
// not share any of them. DNS names are case-insensitive, so "API.test" is "api.test".
class service_names {
 public:
  explicit service_names(const std::vector<std::string>& existing) {
    for (const auto& name : existing) add(name, in_directory);
  }

  void add(const std::string& name, const std::string& where) {
    struct derived {
      std::string key, what;
    };
    for (const auto& [key, what] : {derived{ca::parse_name(name, where).text, "the same name (names are case-insensitive)"},
                                    derived{"env:" + env_identifier(name), "the env prefix TLSFIX_" + env_identifier(name)},
                                    derived{"k8s:" + kubernetes_name(name), "the Kubernetes Secret " + kubernetes_name(name) + "-tls"}}) {
      auto [it, fresh] = seen_.emplace(key, entry{name, where});
      if (fresh) continue;
      const auto& [other, other_where] = it->second;
      if (other == name)
        throw tlsfix::error(where, "service '" + name + "' " +
                                       (other_where == in_directory ? "already exists in this directory" : "is listed twice (also at " + other_where + ")"));
      throw tlsfix::error(where, "service '" + name + "' and '" + other + "' (" + other_where + ") would share " + what +
                                     "; rename one");
    }
  }

 private:
  struct entry {
    std::string name, where;
  };
  static constexpr const char* in_directory = "this directory";
  std::map<std::string, entry> seen_;
};

}  // namespace

void resolve(topology& t, const std::vector<std::string>& existing) {
  name_policy policy{t.allow_names};
  service_names unique(existing);
  std::set<std::string> seen(existing.begin(), existing.end());
  for (const auto& s : t.services) {
    check_service_name(s.name, s.where);
    unique.add(s.name, s.where);
    seen.insert(s.name);
    policy.check(s.name, s.where);
    for (std::size_t j = 0; j < s.names.size(); ++j) policy.check(s.names[j], s.name_where(j));
    for (std::size_t j = 0; j < s.ips.size(); ++j) policy.check(s.ips[j], s.ip_where(j));
    check_can_give(s);
  }
  for (const auto& s : t.services) {
    for (const auto& c : s.clients) {
      if (!seen.contains(c))
        throw tlsfix::error(s.where, "client '" + c + "' of '" + s.name + "' is not a service in this directory");
      for (auto& peer : t.services)
        if (peer.name == c && peer.usage == ca::usage::server) peer.usage = ca::usage::server_and_client;
    }
  }
}

}  // namespace tlsfix::cli
