// Small fd helpers shared by the bindings: an owning guard that closes on every exit
// path (including a thrown JavaScript error), and the [a, b] pair several calls return.
#pragma once
#include <napi.h>
#include <unistd.h>

// Owns one fd; release() hands it over (e.g. to JavaScript) so it is not closed.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// [a, b] as a JavaScript array: both ends of a socketpair, pipe or pty.
inline Napi::Array FdPair(Napi::Env env, int a, int b) {
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, a));
  pair.Set(1u, Napi::Number::New(env, b));
  return pair;
}
