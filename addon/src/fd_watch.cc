// FdWatch: a uv_poll on any fd, calling back on every readiness until closed. The
// sync socket to hutch-init is read with it (recvmsg, because messages may carry
// fds), and so is anything else Node cannot wrap in a stream.
#include <napi.h>
#include <uv.h>

#include "errno_error.h"
#include "exports.h"

namespace {

class FdWatch : public Napi::ObjectWrap<FdWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatch",
                       {InstanceMethod("close", &FdWatch::Close), InstanceMethod("ref", &FdWatch::LoopRef),
                        InstanceMethod("unref", &FdWatch::LoopUnref)});
  }

  // new FdWatch(fd, writable: boolean, onReady(status: number))
  explicit FdWatch(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FdWatch>(info) {
    Napi::Env env = info.Env();
    int fd = info[0].As<Napi::Number>().Int32Value();
    int events = info[1].ToBoolean().Value() ? UV_WRITABLE : UV_READABLE;
    callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    uv_loop_t *loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int rc = uv_poll_init(loop, poll_, fd);
    if (rc == 0) rc = uv_poll_start(poll_, events | UV_DISCONNECT, OnReady);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      ThrowErrno(env, "uv_poll_start", -rc);
    }
    Napi::ObjectWrap<FdWatch>::Ref();
  }

 private:
  static void OnReady(uv_poll_t *handle, int status, int) {
    auto *self = static_cast<FdWatch *>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->callback_.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  }

  void Stop() {
    if (!poll_) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t *>(poll_), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
    poll_ = nullptr;
    Napi::ObjectWrap<FdWatch>::Unref();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Stop();
    return info.Env().Undefined();
  }
  Napi::Value LoopRef(const Napi::CallbackInfo &info) {
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t *>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value LoopUnref(const Napi::CallbackInfo &info) {
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t *>(poll_));
    return info.Env().Undefined();
  }

  uv_poll_t *poll_ = nullptr;
  Napi::FunctionReference callback_;
};

}  // namespace

void InitFdWatch(Napi::Env env, Napi::Object exports) { exports.Set("FdWatch", FdWatch::Define(env)); }
