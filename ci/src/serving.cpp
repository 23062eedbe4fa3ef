#include "serving.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "tlsfix/ca/names.hpp"
#include "tlsfix/error.hpp"
#include "tlsfix/ca/files.hpp"

namespace tlsfix::cli {

namespace fs = std::filesystem;

ca::issued_cert identity_from_dir(const tlsfix_dir& dir, const std::string& service) {
  const auto& entry = dir.service(service);
  if (entry.at("usage") == "client")
    throw tlsfix::error("--service", "'" + service + "' is a client identity (clientAuth only); it cannot serve");
  const auto& files = entry.at("files");
  fs::path chain = dir.path() / files.at("fullchain").get<std::string>(), key = dir.path() / files.at("key").get<std::string>();
  try {
    return ca::issued_cert::from_pem(ca::read_file(chain), ca::read_file(key), ca::read_file(dir.ca_file()));
  } catch (const tlsfix::error& e) {
    throw e.within(chain.string() + " with " + key.string());
  }
}

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks until SIGINT or SIGTERM, then stops the server and removes the pid file.
int wait_and_close(harness::tls_server& server, const serving_options& o) {
  sigset_t set = stop_signals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  server.close();
  if (o.pid_file) {
    std::error_code ignored;
    fs::remove(*o.pid_file, ignored);
  }
  return signal_number;
}

void write_pid_file(const serving_options& o) {
  if (o.pid_file) ca::replace_file(*o.pid_file, std::to_string(::getpid()) + "\n", ca::file_mode::public_read);
}

// The child's half of --background: reports "https://..." or "error: ..." on `ready`, then serves.
[[noreturn]] void serve_detached(const std::function<harness::tls_server()>& start, const serving_options& o, int ready) {
  auto report = [&](const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
      ssize_t n = ::write(ready, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(ready);
  };
  std::optional<harness::tls_server> server;
  try {
    server.emplace(start());
    write_pid_file(o);
  } catch (const std::exception& e) {
    report(std::string("error: ") + e.what());
    ::_exit(1);
  }
  // The caller's terminal or pipe is not ours to hold open: `url=$(tlsfix serve --background)`
  // returns only when every writer of the pipe has closed it.
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd : {0, 1, 2}) ::dup2(null, fd);
  report(server->url());
  wait_and_close(*server, o);
  ::_exit(0);
}

}  // namespace

int run_server(const std::function<harness::tls_server()>& start, const std::string& extra, const serving_options& o,
               std::ostream& out, std::ostream& err) {
  // Before any thread starts, so that every server thread inherits the mask and sigwait() below
  // is the only place these signals arrive.
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  if (!o.background) {
    auto server = start();
    write_pid_file(o);
    out << server.url() << "\n" << extra << std::flush;
    int signal_number = wait_and_close(server, o);
    out << "tlsfix: stopped (" << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ")\n";
    return success;
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw tlsfix::error(std::string("--background: cannot create a pipe: ") + std::strerror(errno));
  out.flush();
  err.flush();
  pid_t child = ::fork();
  if (child < 0) throw tlsfix::error(std::string("--background: cannot fork: ") + std::strerror(errno));
  if (child == 0) {
    ::close(fds[0]);
    serve_detached(start, o, fds[1]);
  }
  ::close(fds[1]);
  std::string said;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    said.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (!said.starts_with("https://")) {
    int status = 0;
    ::waitpid(child, &status, 0);
    throw tlsfix::error(said.starts_with("error: ") ? said.substr(7) : "the background server exited before listening");
  }
  out << said << "\n" << std::flush;
  err << extra << std::flush;
  return success;
}

}  // namespace tlsfix::cli
