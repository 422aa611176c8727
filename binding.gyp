{
  "targets": [
    {
      "target_name": "hutch_native",
      "sources": [
        "addon/src/module.cc",
        "addon/src/errno_error.cc",
        "addon/src/fs_ops.cc",
        "addon/src/pidfd_ops.cc",
        "addon/src/fd_passing.cc",
        "addon/src/launch.cc",
        "addon/src/seccomp_compile.cc",
        "addon/src/netlink.cc",
        "addon/src/fd_watch.cc",
        "addon/src/unix_socket.cc",
        "addon/src/layer_ops.cc",
        "addon/src/cgroup_event.cc",
        "addon/src/bpf_devices.cc",
        "addon/src/pty_ops.cc",
        "addon/src/in_root.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fexceptions"],
      "libraries": ["-lseccomp"]
    },
    {
      "target_name": "hutch-init",
      "type": "executable",
      "sources": [
        "addon/init/main.c",
        "addon/init/plan.c",
        "addon/init/sync.c",
        "addon/init/namespaces.c",
        "addon/init/resolve.c",
        "addon/init/mounts.c",
        "addon/init/copyup.c",
        "addon/init/devices.c",
        "addon/init/rootfs.c",
        "addon/init/console.c",
        "addon/init/hooks.c",
        "addon/init/process.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing"],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "hutch-nsmount",
      "type": "executable",
      "sources": ["addon/nsmount/main.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "containerd-shim-hutch-v2",
      "type": "executable",
      "sources": [
        "addon/launcher/main.c",
        "addon/launcher/spec.c",
        "addon/launcher/sha256.c",
        "addon/launcher/admin.c",
        "addon/launcher/util.c",
        "addon/launcher/grouping.c",
        "addon/launcher/gone.c",
        "addon/launcher/serve.c"
      ],
      "defines": ["HUTCH_NODE_PATH=\"<!(node -p process.execPath)\""],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing"],
      "ldflags": ["-static", "-s"]
    }
  ]
}
