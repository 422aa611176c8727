// cgroup v1 event notification: an eventfd registered through a cgroup's
// cgroup.event_control for one of its files (memory.oom_control for OOM events,
// memory.pressure_level, memory.usage_in_bytes thresholds). The kernel signals the
// eventfd on each event and once more when the cgroup is removed. TypeScript watches
// the returned fd with watchFd and reads the 8-byte counter itself.
#include <fcntl.h>
#include <napi.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errno_error.h"
#include "exports.h"
#include "fd.h"

namespace {

// cgroupEventFd(controlPath, targetPath, args): number — a non-blocking,
// close-on-exec eventfd the kernel signals for events on targetPath.
Napi::Value CgroupEventFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string control = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string args = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";

  Fd event(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (event.get() < 0) ThrowErrno(env, "eventfd", errno);
  // The kernel keeps its own reference to the target file once registered.
  Fd watched(open(target.c_str(), O_RDONLY | O_CLOEXEC));
  if (watched.get() < 0) ThrowErrno(env, "open", errno, target);
  Fd ctl(open(control.c_str(), O_WRONLY | O_CLOEXEC));
  if (ctl.get() < 0) ThrowErrno(env, "open", errno, control);

  std::string line = std::to_string(event.get()) + " " + std::to_string(watched.get());
  if (!args.empty()) line += " " + args;
  ssize_t n;
  do {
    n = write(ctl.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, "write", errno, control);
  return Napi::Number::New(env, event.release());
}

}  // namespace

void InitCgroupEvent(Napi::Env env, Napi::Object exports) {
  exports.Set("cgroupEventFd", Napi::Function::New(env, CgroupEventFd, "cgroupEventFd"));
}
