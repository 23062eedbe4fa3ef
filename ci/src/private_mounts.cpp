#include "private_mounts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace tlsfix::cli {

namespace {

// One write of `size` bytes, in a child after fork: no allocation.
int write_all(const char* path, const char* text, std::size_t size) noexcept {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, text, size);
  int err = n == static_cast<ssize_t>(size) ? 0 : n < 0 ? errno : EIO;
  ::close(fd);
  return err;
}

// The machine's nsswitch.conf with hosts from files alone: no DNS, mDNS or other source that could
// ask the network. Without a hosts line glibc would ask DNS first, so one is added.
std::string nsswitch_from(const std::filesystem::path& machine) {
  std::istringstream in(ca::read_file(machine));
  std::string out;
  bool hosts = false;
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(" \t");
    bool is_hosts = start != std::string::npos && line.compare(start, 6, "hosts:") == 0;
    hosts = hosts || is_hosts;
    out += (is_hosts ? std::string("hosts: files") : line) + "\n";
  }
  return hosts ? out : out + "hosts: files\n";
}

}  // namespace

std::vector<overlay> name_overlays(const std::string& hosts_lines, std::vector<ca::temp_file>& files) {
  std::vector<overlay> out;
  auto add = [&](const std::string& contents, const char* name, const char* target) {
    files.emplace_back(contents, name);
    // mkdtemp's 0700 would hide the file from a program that drops privileges.
    std::filesystem::permissions(files.back().path().parent_path(), std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
    out.push_back({files.back().path(), target});
  };
  // The machine's own entries stay (its host name, a CI's service links): they are files, not DNS.
  std::error_code ec;
  std::string machine = std::filesystem::is_regular_file("/etc/hosts", ec)
                            ? ca::read_file("/etc/hosts")
                            : std::string("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
  if (!machine.empty() && machine.back() != '\n') machine += '\n';
  add(machine + "# tlsfix\n" + hosts_lines, "hosts", "/etc/hosts");
  if (std::filesystem::exists("/etc/nsswitch.conf", ec)) add(nsswitch_from("/etc/nsswitch.conf"), "nsswitch.conf", "/etc/nsswitch.conf");
  // For resolvers that skip nsswitch.conf (musl, c-ares): DNS on loopback only. Without a
  // resolv.conf they ask 127.0.0.1 already; a link to a missing file cannot be mounted over.
  if (std::filesystem::exists("/etc/resolv.conf", ec)) add("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n", "resolv.conf", "/etc/resolv.conf");
  return out;
}

prepared_overlays::prepared_overlays(const std::vector<overlay>& overlays) : as_root_(::geteuid() == 0) {
  for (const auto& o : overlays) {
    sources_.push_back(o.source.string());
    targets_.push_back(o.target.string());
  }
  // Outside root, the program stays itself: its own uid and gid, mapped one to one.
  uid_map_ = std::to_string(::geteuid()) + " " + std::to_string(::geteuid()) + " 1";
  gid_map_ = std::to_string(::getegid()) + " " + std::to_string(::getegid()) + " 1";
}

int prepared_overlays::enter(int* failed_overlay) const noexcept {
  if (failed_overlay) *failed_overlay = -1;
  if (!as_root_ || ::unshare(CLONE_NEWNS) != 0) {
    // Not root, or root without CAP_SYS_ADMIN (a container): a user namespace gives the mount
    // namespace its capabilities, where the kernel allows one.
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return errno;
    if (int err = write_all("/proc/self/setgroups", "deny", 4)) return err;
    if (int err = write_all("/proc/self/uid_map", uid_map_.data(), uid_map_.size())) return err;
    if (int err = write_all("/proc/self/gid_map", gid_map_.data(), gid_map_.size())) return err;
  }
  // Nothing mounted from here on propagates back to the machine's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    if (::mount(sources_[i].c_str(), targets_[i].c_str(), nullptr, MS_BIND, nullptr) != 0) {
      if (failed_overlay) *failed_overlay = static_cast<int>(i);
      return errno;
    }
  }
  return 0;
}

std::string private_mounts_unavailable() {
  static const std::string reason = [] {
    if (const char* setting = std::getenv("TLSFIX_PRIVATE_MOUNTS"); setting && std::string(setting) == "0")
      return std::string("TLSFIX_PRIVATE_MOUNTS=0");
    prepared_overlays none({});
    // Tried in a child, which exits with the errno: this process's own namespace never changes.
    pid_t pid = ::fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) ::_exit(none.enter());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
      if (errno != EINTR) return std::string("waitpid: ") + std::strerror(errno);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::string();
    int err = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    return std::string("no private mount namespace (unshare or mount: ") + (err ? std::strerror(err) : "the probe was killed") +
           "; it needs root or unprivileged user namespaces)";
  }();
  return reason;
}

}  // namespace tlsfix::cli
