// Where orders keeps its orders: PostgreSQL through libpq, over verified TLS only.
//
//   sample::orders::store db("host=postgres.test.local port=5432 dbname=postgres user=orders", "ca.crt");
//   auto placed = db.insert("widget", 2, "alice.test.local");
//
// Whatever the connection string says, the connection uses sslmode=verify-full: the server's
// chain must lead to the CA file (sslrootcert, by default the service's --ca) and its certificate
// must name the host dialled. A weaker sslmode in the string is refused, not quietly upgraded, so
// that a misconfiguration shows at start-up.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace sample::orders {

// A failure to reach or use the database, with libpq's reason.
class database_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct order {
  long long id = 0;
  std::string item;
  long long quantity = 0;
  std::string customer;  // the identity in the caller's client certificate
};

class store {
 public:
  // Connects. Throws std::invalid_argument naming --db for a connection string it will not use,
  // database_error when the server cannot be reached or fails verification.
  store(const std::string& conninfo, const std::filesystem::path& ca);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // CREATE TABLE IF NOT EXISTS orders (...).
  void create_schema();
  order insert(const std::string& item, long long quantity, const std::string& customer);
  std::optional<order> find(long long id);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sample::orders
