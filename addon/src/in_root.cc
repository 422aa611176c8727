// openInRoot: open a file of a container's file system from the host without letting
// the container's symlinks lead out of it (openat2 with RESOLVE_IN_ROOT: "/" and ".."
// stop at the given root, magic links are refused). Used to read the container's
// /etc/passwd and /etc/group through /proc/<init>/root.
#include <napi.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "exports.h"

namespace {

// openInRoot(root, path): fd opened read-only (close-on-exec), path resolved inside root.
Napi::Value OpenInRoot(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  int rootfd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) ThrowErrno(env, "open", errno, root);
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do fd = syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof how);
  while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  int err = errno;
  close(rootfd);
  if (fd < 0) ThrowErrno(env, "openat2", err, path);
  return Napi::Number::New(env, static_cast<double>(fd));
}

}  // namespace

void InitInRoot(Napi::Env env, Napi::Object exports) { exports.Set("openInRoot", Napi::Function::New(env, OpenInRoot)); }
