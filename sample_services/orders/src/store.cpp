#include "sample/store.hpp"

#include <libpq-fe.h>

#include <memory>
#include <vector>

namespace sample::orders {

namespace {

struct conn_deleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct options_deleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The connection parameters: the user's, checked, with sslmode=verify-full and the CA added.
std::vector<std::pair<std::string, std::string>> parameters(const std::string& conninfo, const std::filesystem::path& ca) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, options_deleter> parsed(PQconninfoParse(conninfo.c_str(), &error));
  if (!parsed) {
    std::string why = trimmed(error);
    PQfreemem(error);
    throw std::invalid_argument("--db: " + why);
  }
  std::vector<std::pair<std::string, std::string>> out;
  bool has_root = false;
  for (auto* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string key = o->keyword, value = o->val;
    if (key == "sslmode") {
      if (value != "verify-full")
        throw std::invalid_argument("--db: sslmode=" + value + " would accept a server it has not verified; orders connects with sslmode=verify-full only (leave sslmode out)");
      continue;
    }
    if (key == "sslrootcert") has_root = true;
    out.emplace_back(key, value);
  }
  out.emplace_back("sslmode", "verify-full");
  if (!has_root) out.emplace_back("sslrootcert", ca.string());
  return out;
}

}  // namespace

struct store::impl {
  std::vector<std::pair<std::string, std::string>> params;
  std::mutex mutex;
  conn_ptr conn;

  void connect() {
    std::vector<const char*> keys, values;
    for (const auto& [k, v] : params) {
      keys.push_back(k.c_str());
      values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn.reset(PQconnectdbParams(keys.data(), values.data(), 0));
    if (!conn) throw database_error("database: out of memory");
    if (PQstatus(conn.get()) != CONNECTION_OK) throw database_error("database: " + trimmed(PQerrorMessage(conn.get())));
  }

  // Runs one statement; reconnects once when the connection was lost in between.
  result_ptr exec(const std::string& sql, const std::vector<std::string>& args, ExecStatusType expected) {
    std::vector<const char*> values;
    for (const auto& a : args) values.push_back(a.c_str());
    for (int attempt = 0;; ++attempt) {
      if (PQstatus(conn.get()) != CONNECTION_OK) connect();
      result_ptr r(PQexecParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
      if (r && PQresultStatus(r.get()) == expected) return r;
      if (attempt == 0 && PQstatus(conn.get()) != CONNECTION_OK) continue;
      throw database_error("database: " + trimmed(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn.get())));
    }
  }
};

store::store(const std::string& conninfo, const std::filesystem::path& ca) : impl_(std::make_unique<impl>()) {
  impl_->params = parameters(conninfo, ca);
  impl_->connect();
}

store::~store() = default;

void store::create_schema() {
  std::lock_guard lock(impl_->mutex);
  impl_->exec(
      "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, item text NOT NULL, "
      "quantity bigint NOT NULL CHECK (quantity > 0), customer text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
      {}, PGRES_COMMAND_OK);
}

order store::insert(const std::string& item, long long quantity, const std::string& customer) {
  std::lock_guard lock(impl_->mutex);
  auto r = impl_->exec("INSERT INTO orders (item, quantity, customer) VALUES ($1, $2, $3) RETURNING id",
                       {item, std::to_string(quantity), customer}, PGRES_TUPLES_OK);
  return {std::stoll(PQgetvalue(r.get(), 0, 0)), item, quantity, customer};
}

std::optional<order> store::find(long long id) {
  std::lock_guard lock(impl_->mutex);
  auto r = impl_->exec("SELECT id, item, quantity, customer FROM orders WHERE id = $1", {std::to_string(id)}, PGRES_TUPLES_OK);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return order{std::stoll(PQgetvalue(r.get(), 0, 0)), PQgetvalue(r.get(), 0, 1), std::stoll(PQgetvalue(r.get(), 0, 2)),
               PQgetvalue(r.get(), 0, 3)};
}

}  // namespace sample::orders
