// File-system calls Node lacks: mount, umount2, mkfifo, pipe2, and flock (on the
// thread pool, so waiting for a container's lock never blocks the event loop).
#include <napi.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "errno_error.h"
#include "exports.h"
#include "fd.h"

namespace {

std::string OptionalString(const Napi::Value &v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : ""; }

Napi::Value Mount(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string source = OptionalString(info[0]);
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = OptionalString(info[2]);
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  std::string data = OptionalString(info[4]);
  if (mount(info[0].IsString() ? source.c_str() : nullptr, target.c_str(), info[2].IsString() ? fstype.c_str() : nullptr,
            flags, info[4].IsString() ? data.c_str() : nullptr) < 0)
    ThrowErrno(env, "mount", errno, target);
  return env.Undefined();
}

Napi::Value Umount(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int flags = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (umount2(target.c_str(), flags) < 0) ThrowErrno(env, "umount2", errno, target);
  return env.Undefined();
}

Napi::Value Mkfifo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value());
  if (mkfifo(path.c_str(), mode) < 0) ThrowErrno(env, "mkfifo", errno, path);
  // mkfifo honours the umask; the caller asked for exactly this mode
  if (chmod(path.c_str(), mode) < 0) ThrowErrno(env, "chmod", errno, path);
  return env.Undefined();
}

// pipe(): [read end, write end], both close-on-exec
Napi::Value Pipe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) ThrowErrno(env, "pipe2", errno);
  return FdPair(env, fds[0], fds[1]);
}

class FlockWorker : public Napi::AsyncWorker {
 public:
  FlockWorker(Napi::Env env, int fd, int op) : Napi::AsyncWorker(env), fd_(fd), op_(op), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    while (flock(fd_, op_) < 0) {
      if (errno != EINTR) {
        err_ = errno;
        return;
      }
    }
  }
  void OnOK() override {
    if (err_ == 0) deferred_.Resolve(Env().Undefined());
    else deferred_.Reject(ErrnoError(Env(), "flock", err_).Value());
  }

 private:
  int fd_;
  int op_;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

// flock(fd, exclusive): Promise<void>, waits on the thread pool.
Napi::Value Flock(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  auto *worker = new FlockWorker(info.Env(), fd, exclusive ? LOCK_EX : LOCK_SH);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// flockNow(fd, exclusive): boolean — a non-blocking attempt.
Napi::Value FlockNow(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  ThrowErrno(env, "flock", errno);
}

}  // namespace

void InitFsOps(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("flockNow", Napi::Function::New(env, FlockNow));
}
