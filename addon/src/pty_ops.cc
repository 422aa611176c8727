// Terminals: window sizes of a pty (TIOCGWINSZ/TIOCSWINSZ on any fd, which Node only
// offers for its own stdio), true raw mode and its undoing, and openPty for callers that need a pty of their own
// (tests driving `docker run -it`, a console receiver).
#include <napi.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "exports.h"
#include "fd.h"

namespace {

// getWindowSize(fd): { rows, cols } | null when fd is not a terminal.
Napi::Value GetWindowSize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0) {
    if (errno == ENOTTY || errno == EINVAL) return env.Null();
    ThrowErrno(env, "ioctl(TIOCGWINSZ)", errno);
  }
  Napi::Object size = Napi::Object::New(env);
  size.Set("rows", Napi::Number::New(env, ws.ws_row));
  size.Set("cols", Napi::Number::New(env, ws.ws_col));
  return size;
}

// setWindowSize(fd, rows, cols): the pty (master or slave) gets the size; the
// foreground process group of its session gets SIGWINCH from the kernel.
Napi::Value SetWindowSize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) ThrowErrno(env, "ioctl(TIOCSWINSZ)", errno);
  return env.Undefined();
}

// makeRaw(fd): puts the terminal in raw mode as cfmakeraw does (libuv's raw mode keeps
// output processing, which would turn a container's "\r\n" into "\r\r\n"); returns
// the previous settings for restoreTerminal, or null when fd is not a terminal.
Napi::Value MakeRaw(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct termios old {};
  if (tcgetattr(fd, &old) < 0) {
    if (errno == ENOTTY || errno == EINVAL) return env.Null();
    ThrowErrno(env, "tcgetattr", errno);
  }
  struct termios raw = old;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSANOW, &raw) < 0) ThrowErrno(env, "tcsetattr", errno);
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<const char *>(&old), sizeof old);
}

// restoreTerminal(fd, saved): back to the settings makeRaw returned.
Napi::Value RestoreTerminal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> saved = info[1].As<Napi::Buffer<char>>();
  if (saved.Length() != sizeof(struct termios)) ThrowErrno(env, "tcsetattr", EINVAL);
  struct termios old;
  std::memcpy(&old, saved.Data(), sizeof old);
  if (tcsetattr(fd, TCSANOW, &old) < 0) ThrowErrno(env, "tcsetattr", errno);
  return env.Undefined();
}

// openPty(): [master, slave], both close-on-exec; the slave is not our controlling tty.
Napi::Value OpenPty(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) ThrowErrno(env, "posix_openpt", errno);
  char name[128];
  if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    close(master);
    ThrowErrno(env, "unlockpt", err);
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    ThrowErrno(env, "open", err, name);
  }
  return FdPair(env, master, slave);
}

}  // namespace

void InitPtyOps(Napi::Env env, Napi::Object exports) {
  exports.Set("getWindowSize", Napi::Function::New(env, GetWindowSize));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("openPty", Napi::Function::New(env, OpenPty));
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw));
  exports.Set("restoreTerminal", Napi::Function::New(env, RestoreTerminal));
}
