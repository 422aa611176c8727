// launch(): start hutch-init the way posix_spawn starts a program. clone3 with
// CLONE_VM | CLONE_VFORK runs a tiny child on its own stack — no copy of Node's
// memory, and the calling thread waits only until the execve — which places the
// fds, resets signals, and execs a sealed memfd copy of hutch-init (so nothing in a
// container can ever write to the binary that enters it: CVE-2019-5736).
#include <napi.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "errno_error.h"
#include "exports.h"

extern char **environ;

namespace {

constexpr size_t kChildStack = 64 * 1024;

// The sealed copy of hutch-init, made once per process.
int g_init_memfd = -1;
std::string g_init_path;

int SealedInit(Napi::Env env, const std::string &path) {
  if (g_init_memfd >= 0 && path == g_init_path) return g_init_memfd;
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) ThrowErrno(env, "open", errno, path);
  int mfd = static_cast<int>(syscall(SYS_memfd_create, "hutch-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mfd < 0) {
    int err = errno;
    close(src);
    ThrowErrno(env, "memfd_create", err);
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(src, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(mfd, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int err = errno;
        close(src);
        close(mfd);
        ThrowErrno(env, "write", err, "memfd:hutch-init");
      }
      off += w;
    }
  }
  int read_err = n < 0 ? errno : 0;
  close(src);
  if (read_err) {
    close(mfd);
    ThrowErrno(env, "read", read_err, path);
  }
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    int err = errno;
    close(mfd);
    ThrowErrno(env, "fcntl(F_ADD_SEALS)", err);
  }
  if (g_init_memfd >= 0) close(g_init_memfd);
  g_init_memfd = mfd;
  g_init_path = path;
  return mfd;
}

// struct sigaction as the kernel takes it (handler SIG_DFL = 0, no flags, empty mask)
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};
constexpr size_t kKernelSigsetSize = 8;

struct ChildArgs {
  const int *fds;  // fds[i] = parent fd to place at i in the child, or -1
  int nfds;
  int exe_fd;
  char *const *argv;
  char *const *envp;
  volatile int err;  // shared memory: the parent reads it after the vfork returns
};

// Runs in the child, on its own stack, sharing Node's memory until execve: only
// async-signal-safe system calls here, nothing that allocates or locks.
int ChildMain(void *opaque) {
  auto *a = static_cast<ChildArgs *>(opaque);
  // Node ignores SIGPIPE and handles others: the container must start from defaults.
  // The raw call (the kernel's struct, not glibc's) also covers glibc's own signals.
  KernelSigaction dfl{};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, nullptr, kKernelSigsetSize);
  }
  uint64_t none = 0;
  int tmp[64];
  int n = a->nfds > 64 ? 64 : a->nfds;
  // Two passes so a source fd that is also a destination is not clobbered.
  for (int i = 0; i < n; i++) {
    tmp[i] = -1;
    if (a->fds[i] < 0) continue;
    tmp[i] = static_cast<int>(syscall(SYS_fcntl, a->fds[i], F_DUPFD_CLOEXEC, n + 3));
    if (tmp[i] < 0) goto failed;
  }
  for (int i = 0; i < n; i++) {
    if (tmp[i] < 0) {
      syscall(SYS_close, i);
      continue;
    }
    if (syscall(SYS_dup2, tmp[i], i) < 0) goto failed;  // dup2 clears close-on-exec
  }
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, kKernelSigsetSize);
  syscall(SYS_execveat, a->exe_fd, "", a->argv, a->envp, AT_EMPTY_PATH);
failed:
  a->err = errno;
  return 127;
}

#if defined(__x86_64__)
// clone3 with a function on a new stack (what glibc's clone() does for clone2): the
// child starts on `stack`, so it must call ChildMain directly and exit.
long Clone3WithFn(struct clone_args *args, int (*fn)(void *), void *arg) {
  long ret;
  register long r12 asm("r12") = reinterpret_cast<long>(fn);
  register long r13 asm("r13") = reinterpret_cast<long>(arg);
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $231, %%eax\n\t" /* exit_group */
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(SYS_clone3), "D"(args), "S"(sizeof(*args)), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory", "cc");
  return ret;
}
constexpr bool kShareMemory = true;
#else
// Elsewhere: fork semantics (copy-on-write), the child still only places fds and execs.
long Clone3WithFn(struct clone_args *args, int (*fn)(void *), void *arg) {
  long pid = syscall(SYS_clone3, args, sizeof(*args));
  if (pid == 0) _exit(fn(arg));
  return pid;
}
constexpr bool kShareMemory = false;
#endif

// launch({ initPath, fds, argv, cgroupFd? }): { pid, pidfd }
Napi::Value Launch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].As<Napi::Object>();
  std::string init_path = opts.Get("initPath").As<Napi::String>().Utf8Value();
  Napi::Array fd_list = opts.Get("fds").As<Napi::Array>();
  Napi::Array arg_list = opts.Get("argv").As<Napi::Array>();
  int cgroup_fd = opts.Has("cgroupFd") && opts.Get("cgroupFd").IsNumber() ? opts.Get("cgroupFd").As<Napi::Number>().Int32Value() : -1;

  int exe_fd = SealedInit(env, init_path);
  std::vector<int> fds(fd_list.Length());
  for (uint32_t i = 0; i < fd_list.Length(); i++) fds[i] = fd_list.Get(i).As<Napi::Number>().Int32Value();
  std::vector<std::string> arg_strings;
  for (uint32_t i = 0; i < arg_list.Length(); i++) arg_strings.push_back(arg_list.Get(i).As<Napi::String>().Utf8Value());
  std::vector<char *> argv;
  for (auto &s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  ChildArgs child{fds.data(), static_cast<int>(fds.size()), exe_fd, argv.data(), environ, 0};
  void *stack = nullptr;
  if (kShareMemory) {
    stack = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) ThrowErrno(env, "mmap", errno);
  }
  int pidfd = -1;
  struct clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD | (kShareMemory ? (CLONE_VM | CLONE_VFORK) : 0) | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (kShareMemory) {
    args.stack = reinterpret_cast<uint64_t>(stack);
    args.stack_size = kChildStack;
  }
  if (cgroup_fd >= 0) args.cgroup = static_cast<uint64_t>(cgroup_fd);

  // No signal handler of Node's may run in the child while it shares our memory.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = Clone3WithFn(&args, ChildMain, &child);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (stack) munmap(stack, kChildStack);
  if (pid < 0) ThrowErrno(env, "clone3", clone_err);

  if (kShareMemory && child.err != 0) {
    // The child failed before execve and has exited: reap it and report why.
    siginfo_t si;
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED);
    close(pidfd);
    ThrowErrno(env, "execveat", child.err, init_path);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  result.Set("pidfd", Napi::Number::New(env, pidfd));
  return result;
}

}  // namespace

void InitLaunch(Napi::Env env, Napi::Object exports) { exports.Set("launch", Napi::Function::New(env, Launch)); }
