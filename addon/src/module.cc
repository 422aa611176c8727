// The hutch native addon: short, non-forking calls Node lacks, plus launch(), which
// starts hutch-init. addon/index.ts is its only importer.
#include <napi.h>

#include "exports.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitFsOps(env, exports);
  InitPidfdOps(env, exports);
  InitFdPassing(env, exports);
  InitLaunch(env, exports);
  InitSeccomp(env, exports);
  InitFdWatch(env, exports);
  InitNetlink(env, exports);
  InitUnixSocket(env, exports);
  InitLayerOps(env, exports);
  InitCgroupEvent(env, exports);
  InitBpfDevices(env, exports);
  InitPtyOps(env, exports);
  InitInRoot(env, exports);
  return exports;
}

NODE_API_MODULE(hutch_native, Init)
