// FdWatch: a uv_poll on any fd, calling back on every readiness until closed. The
// sync socket to hutch-init is read with it (recvmsg, because messages may carry
// fds), and so is anything else Node cannot wrap in a stream.
#include <napi.h>
#include <uv.h>

#include "errno_error.h"
#include "exports.h"
#include "poll_watch.h"

namespace {

class FdWatch : public PollWatch<FdWatch> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineWatch(env, "FdWatch"); }

  // new FdWatch(fd, writable: boolean, onReady(status: number))
  explicit FdWatch(const Napi::CallbackInfo &info) : PollWatch<FdWatch>(info) {
    callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    StartPoll(info.Env(), info[0].As<Napi::Number>().Int32Value(), (info[1].ToBoolean().Value() ? UV_WRITABLE : UV_READABLE) | UV_DISCONNECT);
  }

  void OnReady(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    callback_.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  }

 private:
  Napi::FunctionReference callback_;
};

}  // namespace

void InitFdWatch(Napi::Env env, Napi::Object exports) { exports.Set("FdWatch", FdWatch::Define(env)); }
