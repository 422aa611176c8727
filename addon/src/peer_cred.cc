// SO_PEERCRED, which Node lacks: the shim's ttrpc server admits only peers with its
// own uid and gid, as containerd's shim library does.
#include <napi.h>
#include <sys/socket.h>

#include <cerrno>

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

}  // namespace

void InitPeerCred(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
}
