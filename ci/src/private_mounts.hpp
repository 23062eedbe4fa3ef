// A private view of a few system files for one program, in a mount namespace of its own: the
// program sees `source` at `target`, and no other process on the machine sees any change.
//
// This is how check-client and run give *any* program tlsfix's names and no DNS (its own
// /etc/hosts, nsswitch.conf with hosts from files alone, resolv.conf on loopback), whatever
// resolver it uses: static Go
// binaries and the JVM read those files and never see nss_wrapper. check-client also lays the
// decoy trust store over the system's (/etc/ssl/certs, which holds the update-ca-certificates
// bundle that OpenSSL, GnuTLS and curl's compiled-in paths all read).
//
//   if (auto why = private_mounts_unavailable(); why.empty())
//     run_captured(argv, env, timeout, {}, limit, {{hosts_file, "/etc/hosts"}});
//   else
//     ...  // nss_wrapper, and say what it cannot cover (why)
//
// A namespace is available as root (CAP_SYS_ADMIN), or to anyone where the kernel allows
// unprivileged user namespaces (the program then runs as itself, mapped into one).
// TLSFIX_PRIVATE_MOUNTS=0 refuses it, for machines where mounting is not wanted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

struct overlay {
  std::filesystem::path source, target;  // a file over a file, or a directory over a directory
};

// What the fallback, nss_wrapper, leaves out: the one wording check-client and run warn with.
inline constexpr const char* nss_wrapper_misses =
    "names resolve through nss_wrapper, which static binaries (CGO_ENABLED=0 Go), the JVM and setuid programs bypass";

// "" when this process can give a program a private mount namespace; otherwise why it cannot
// ("TLSFIX_PRIVATE_MOUNTS=0", "unshare: Operation not permitted"). Probed once, in a child.
std::string private_mounts_unavailable();

// Overlays that give a program the machine's /etc/hosts plus `hosts_lines`, name lookup from files
// alone (nsswitch.conf), and DNS on loopback only for resolvers that skip nsswitch.conf
// (resolv.conf): the names resolve for any resolver, and no query leaves the machine. The
// overlays' sources are written into `files`, which must outlive the program's start.
std::vector<overlay> name_overlays(const std::string& hosts_lines, std::vector<ca::temp_file>& files);

// The overlays, ready to apply in a child between fork and exec (no allocation there).
class prepared_overlays {
 public:
  explicit prepared_overlays(const std::vector<overlay>& overlays);
  bool empty() const noexcept { return sources_.empty(); }
  // Enters a new mount namespace and lays every overlay; 0, or the errno of the step that failed,
  // with the index of the overlay that failed in `failed_overlay` (-1 for the namespace itself).
  // Async-signal-safe: for a child after fork, or for this process before exec (single-threaded).
  int enter(int* failed_overlay = nullptr) const noexcept;
  const std::string& target(int overlay) const { return targets_.at(static_cast<std::size_t>(overlay)); }

 private:
  std::vector<std::string> sources_, targets_;
  std::string uid_map_, gid_map_;
  bool as_root_;
};

}  // namespace tlsfix::cli
