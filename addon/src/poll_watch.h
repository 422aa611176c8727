// A JavaScript object that owns a uv_poll on an fd: started on construction, stopped
// by close() (or by the subclass), kept alive while active, ref()/unref() for the loop.
// ExitWatch (pidfd_ops.cc) and FdWatch (fd_watch.cc) differ only in what a wake-up does.
#pragma once
#include <napi.h>
#include <uv.h>

#include "errno_error.h"

template <typename T>
class PollWatch : public Napi::ObjectWrap<T> {
 public:
  explicit PollWatch(const Napi::CallbackInfo &info) : Napi::ObjectWrap<T>(info) {}

  static Napi::Function DefineWatch(Napi::Env env, const char *name) {
    return Napi::ObjectWrap<T>::DefineClass(env, name,
                                            {Napi::ObjectWrap<T>::InstanceMethod("close", &PollWatch::Close),
                                             Napi::ObjectWrap<T>::InstanceMethod("ref", &PollWatch::LoopRef),
                                             Napi::ObjectWrap<T>::InstanceMethod("unref", &PollWatch::LoopUnref)});
  }

 protected:
  // Starts polling `fd` for `events`; T::OnReady(status) runs on each wake-up.
  void StartPoll(Napi::Env env, int fd, int events) {
    uv_loop_t *loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int rc = uv_poll_init(loop, poll_, fd);
    if (rc == 0) rc = uv_poll_start(poll_, events, [](uv_poll_t *h, int status, int) { static_cast<T *>(static_cast<PollWatch *>(h->data))->OnReady(status); });
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      ThrowErrno(env, "uv_poll_start", -rc);
    }
    Napi::ObjectWrap<T>::Ref();  // keep the JS object alive while the poll is active
  }

  void Stop() {
    if (!poll_) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t *>(poll_), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
    poll_ = nullptr;
    Napi::ObjectWrap<T>::Unref();
  }

 private:
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
};
