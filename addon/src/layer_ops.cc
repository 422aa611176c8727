// Calls layer unpacking and snapshotters need that Node lacks: mknod (device nodes,
// FIFOs, overlay whiteouts), the l*xattr family (never following a symlink), and
// mountAt — a mount whose relative paths resolve against a directory, done on a
// private thread that unshares its fs context, so the process's cwd never changes
// (that is how deep overlay lowerdir lists stay under the one-page mount data limit).
#include <napi.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "errno_error.h"
#include "exports.h"

namespace {

// mknod(path, mode, major, minor): mode includes the file type bits (S_IFCHR, ...).
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value());
  unsigned int major = info[2].As<Napi::Number>().Uint32Value();
  unsigned int minor = info[3].As<Napi::Number>().Uint32Value();
  if (mknod(path.c_str(), mode, makedev(major, minor)) < 0) ThrowErrno(env, "mknod", errno, path);
  return env.Undefined();
}

// lsetxattr(path, name, value: Buffer)
Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0) ThrowErrno(env, "lsetxattr", errno, path);
  return env.Undefined();
}

// lgetxattr(path, name): Buffer, or null when the attribute is absent.
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  for (;;) {
    ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA) return env.Null();
      ThrowErrno(env, "lgetxattr", errno, path);
    }
    std::vector<char> buf(static_cast<size_t>(size) + 1);
    ssize_t got = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (got < 0) {
      if (errno == ERANGE) continue;  // grew in between: ask again
      if (errno == ENODATA) return env.Null();
      ThrowErrno(env, "lgetxattr", errno, path);
    }
    return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(got));
  }
}

// llistxattr(path): string[]
Napi::Value Llistxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  for (;;) {
    ssize_t size = llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return Napi::Array::New(env);
      ThrowErrno(env, "llistxattr", errno, path);
    }
    std::vector<char> buf(static_cast<size_t>(size) + 1);
    ssize_t got = llistxattr(path.c_str(), buf.data(), buf.size());
    if (got < 0) {
      if (errno == ERANGE) continue;
      ThrowErrno(env, "llistxattr", errno, path);
    }
    Napi::Array names = Napi::Array::New(env);
    uint32_t n = 0;
    for (ssize_t off = 0; off < got;) {
      std::string name(buf.data() + off);
      off += static_cast<ssize_t>(name.size()) + 1;
      if (!name.empty()) names.Set(n++, Napi::String::New(env, name));
    }
    return names;
  }
}

std::string OptionalString(const Napi::Value &v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : ""; }

// mountAt(dir, source, target, fstype, flags, data): mount(2) with relative paths in
// `data` (and source/target) resolved against `dir`.
Napi::Value MountAt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  bool hasSource = info[1].IsString(), hasFstype = info[3].IsString(), hasData = info[5].IsString();
  std::string source = OptionalString(info[1]);
  std::string target = info[2].As<Napi::String>().Utf8Value();
  std::string fstype = OptionalString(info[3]);
  unsigned long flags = static_cast<unsigned long>(info[4].As<Napi::Number>().Int64Value());
  std::string data = OptionalString(info[5]);
  int err = 0;
  const char *failed = nullptr;
  // The thread's own fs context (unshare(CLONE_FS)) lets it chdir without moving
  // the cwd of Node's other threads.
  std::thread worker([&] {
    if (unshare(CLONE_FS) < 0) {
      err = errno, failed = "unshare";
      return;
    }
    if (chdir(dir.c_str()) < 0) {
      err = errno, failed = "chdir";
      return;
    }
    if (mount(hasSource ? source.c_str() : nullptr, target.c_str(), hasFstype ? fstype.c_str() : nullptr, flags,
              hasData ? data.c_str() : nullptr) < 0)
      err = errno, failed = "mount";
  });
  worker.join();
  if (failed) ThrowErrno(env, failed, err, failed[0] == 'c' ? dir : target);
  return env.Undefined();
}

}  // namespace

void InitLayerOps(Napi::Env env, Napi::Object exports) {
  exports.Set("mknod", Napi::Function::New(env, Mknod));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("mountAt", Napi::Function::New(env, MountAt));
}
