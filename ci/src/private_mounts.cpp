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

int write_all(const char* path, const std::string& text) noexcept {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : errno;
  ::close(fd);
  return err;
}

// The machine's nsswitch.conf with hosts from files, then DNS: no mDNS or other source that could
// ask the network.
std::string nsswitch_from(const std::filesystem::path& machine) {
  std::istringstream in(ca::read_file(machine));
  std::string out;
  for (std::string line; std::getline(in, line);) out += (line.rfind("hosts:", 0) == 0 ? "hosts: files dns" : line) + "\n";
  return out;
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
  add("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" + hosts_lines, "hosts", "/etc/hosts");
  std::error_code ec;
  if (std::filesystem::exists("/etc/nsswitch.conf", ec)) add(nsswitch_from("/etc/nsswitch.conf"), "nsswitch.conf", "/etc/nsswitch.conf");
  // Without a resolv.conf, glibc and Go ask 127.0.0.1 already; a link to a missing file cannot be
  // mounted over.
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

int prepared_overlays::enter() const noexcept {
  if (!as_root_ || ::unshare(CLONE_NEWNS) != 0) {
    // Not root, or root without CAP_SYS_ADMIN (a container): a user namespace gives the mount
    // namespace its capabilities, where the kernel allows one.
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return errno;
    if (int err = write_all("/proc/self/setgroups", "deny")) return err;
    if (int err = write_all("/proc/self/uid_map", uid_map_)) return err;
    if (int err = write_all("/proc/self/gid_map", gid_map_)) return err;
  }
  // Nothing mounted from here on propagates back to the machine's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  for (std::size_t i = 0; i < sources_.size(); ++i)
    if (::mount(sources_[i].c_str(), targets_[i].c_str(), nullptr, MS_BIND, nullptr) != 0) return errno;
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
    return std::string("no private mount namespace (") + (err ? std::strerror(err) : "the probe was killed") +
           "; it needs root or unprivileged user namespaces)";
  }();
  return reason;
}

}  // namespace tlsfix::cli
