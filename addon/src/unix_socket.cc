// Unix-socket calls Node lacks, for the shim: SO_PEERCRED (its ttrpc server admits
// only peers with its own uid and gid, as containerd's shim library does), and a
// listening socket as a plain fd that `start` hands to the server process it spawns.
#include <napi.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errno_error.h"
#include "exports.h"

namespace {

// peerCredentials(fd): { pid, uid, gid } of the process at the other end of a
// connected unix socket (as it was when the connection was made).
Napi::Value PeerCredentials(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) ThrowErrno(env, "getsockopt", errno);
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, cred.pid));
  result.Set("uid", Napi::Number::New(env, cred.uid));
  result.Set("gid", Napi::Number::New(env, cred.gid));
  return result;
}

// listenUnix(path, mode): fd of a SOCK_STREAM socket bound at `path` (created with
// `mode`: the umask is narrowed around bind so the file is never wider) and
// listening. Not close-on-exec: it is meant to be inherited. Unlike a socket
// libuv binds, closing this fd never removes the file.
Napi::Value ListenUnix(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value() & 0777;
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) ThrowErrno(env, "bind", ENAMETOOLONG, path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno);
  mode_t old = umask(0777 & ~mode);
  int rc = bind(fd, reinterpret_cast<struct sockaddr *>(&addr), sizeof addr);
  int err = errno;
  umask(old);
  if (rc < 0) {
    close(fd);
    ThrowErrno(env, "bind", err, path);
  }
  if (listen(fd, SOMAXCONN) < 0) {
    err = errno;
    close(fd);
    unlink(path.c_str());
    ThrowErrno(env, "listen", err, path);
  }
  return Napi::Number::New(env, fd);
}

}  // namespace

void InitUnixSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix));
}
