// Unix-socket plumbing Node lacks: socketpair, SCM_RIGHTS send/receive, and a plain
// connect that returns the raw fd (to hand to hutch-init as the console socket).
#include <napi.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "errno_error.h"
#include "exports.h"
#include "fd.h"

namespace {

constexpr size_t kMaxFds = 16;

Napi::Value Socketpair(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) ThrowErrno(env, "socketpair", errno);
  return FdPair(env, sv[0], sv[1]);
}

// sendFds(sock, data: Buffer, fds: number[])
Napi::Value SendFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> data = info[1].As<Napi::Buffer<char>>();
  Napi::Array fds = info[2].As<Napi::Array>();
  if (fds.Length() > kMaxFds) ThrowErrno(env, "sendmsg", E2BIG);
  std::vector<int> list(fds.Length());
  for (uint32_t i = 0; i < fds.Length(); i++) list[i] = fds.Get(i).As<Napi::Number>().Int32Value();
  char dummy = 0;
  struct iovec iov = {data.Length() ? data.Data() : &dummy, data.Length() ? data.Length() : 1};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds), 0);
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!list.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * list.size());
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * list.size());
    std::memcpy(CMSG_DATA(cmsg), list.data(), sizeof(int) * list.size());
  }
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) ThrowErrno(env, "sendmsg", errno);
  }
  return env.Undefined();
}

// recvFds(sock, maxBytes): { data: Buffer, fds: number[] } | null when it would block.
Napi::Value RecvFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  size_t max = info.Length() > 1 ? info[1].As<Napi::Number>().Uint32Value() : 4096;
  std::vector<char> buf(max ? max : 1);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds), 0);
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    if (errno != EINTR) ThrowErrno(env, "recvmsg", errno);
  }
  Napi::Array fds = Napi::Array::New(env);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.Set(fds.Length(), Napi::Number::New(env, fd));
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(n)));
  result.Set("fds", fds);
  return result;
}

// connectUnix(path): fd of a connected SOCK_STREAM socket (close-on-exec).
Napi::Value ConnectUnix(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) ThrowErrno(env, "connect", ENAMETOOLONG, path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno);
  while (connect(fd, reinterpret_cast<struct sockaddr *>(&addr), sizeof addr) < 0) {
    if (errno == EINTR) continue;
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect", err, path);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SetBlocking(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool blocking = info[1].ToBoolean().Value();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) ThrowErrno(env, "fcntl", errno);
  flags = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
  if (fcntl(fd, F_SETFL, flags) < 0) ThrowErrno(env, "fcntl", errno);
  return env.Undefined();
}

}  // namespace

void InitFdPassing(Napi::Env env, Napi::Object exports) {
  exports.Set("socketpair", Napi::Function::New(env, Socketpair));
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix));
  exports.Set("setBlocking", Napi::Function::New(env, SetBlocking));
}
