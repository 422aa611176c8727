// Processes by pidfd: open, signal, and learn of exit on libuv (a uv_poll on the
// pidfd, which becomes readable when the process exits) — no polling loops and no
// pid-reuse races.
#include <napi.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>

#include "errno_error.h"
#include "exports.h"
#include "poll_watch.h"

namespace {

Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int pid = info[0].As<Napi::Number>().Int32Value();
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) ThrowErrno(env, "pidfd_open", errno);
  return Napi::Number::New(env, static_cast<double>(fd));
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) < 0) ThrowErrno(env, "pidfd_send_signal", errno);
  return env.Undefined();
}

// Exit status as { code, signal } (one of them null), or null if not reapable by us.
Napi::Value StatusObject(Napi::Env env, const siginfo_t &si) {
  Napi::Object status = Napi::Object::New(env);
  bool exited = si.si_code == CLD_EXITED;
  status.Set("code", exited ? Napi::Number::New(env, si.si_status) : env.Null());
  status.Set("signal", exited ? env.Null() : Napi::Number::New(env, si.si_status));
  return status;
}

// reap(pidfd, block): { code, signal } | null (still running) ; throws ECHILD if not our child.
Napi::Value Reap(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool block = info.Length() > 1 && info[1].ToBoolean().Value();
  siginfo_t si{};
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &si, WEXITED | (block ? 0 : WNOHANG)) < 0) {
    if (errno != EINTR) ThrowErrno(env, "waitid", errno);
  }
  if (si.si_pid == 0) return env.Null();
  return StatusObject(env, si);
}

// A uv_poll on a pidfd; calls back once with the status (reaping when `reap`).
class ExitWatch : public PollWatch<ExitWatch> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineWatch(env, "ExitWatch"); }

  // new ExitWatch(pidfd, reap, callback(status | null))
  explicit ExitWatch(const Napi::CallbackInfo &info) : PollWatch<ExitWatch>(info) {
    fd_ = info[0].As<Napi::Number>().Int32Value();
    reap_ = info[1].ToBoolean().Value();
    callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    StartPoll(info.Env(), fd_, UV_READABLE);
  }

  void OnReady(int) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value status = env.Null();
    if (reap_) {
      siginfo_t si{};
      int rc;
      do rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd_), &si, WEXITED | WNOHANG);
      while (rc < 0 && errno == EINTR);
      if (rc == 0 && si.si_pid == 0) return;  // spurious wake-up: not exited yet
      if (rc == 0) status = StatusObject(env, si);
    }
    Napi::FunctionReference callback = std::move(callback_);
    Stop();
    callback.MakeCallback(env.Global(), {status});
  }

 private:
  int fd_ = -1;
  bool reap_ = false;
  Napi::FunctionReference callback_;
};

Napi::Value SetChildSubreaper(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) ThrowErrno(env, "prctl", errno);
  return env.Undefined();
}

}  // namespace

void InitPidfdOps(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("ExitWatch", ExitWatch::Define(env));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
}
