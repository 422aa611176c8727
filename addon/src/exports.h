// One initialiser per source file; module.cc calls them all.
#pragma once
#include <napi.h>

void InitFsOps(Napi::Env env, Napi::Object exports);
void InitPidfdOps(Napi::Env env, Napi::Object exports);
void InitFdPassing(Napi::Env env, Napi::Object exports);
void InitLaunch(Napi::Env env, Napi::Object exports);
void InitSeccomp(Napi::Env env, Napi::Object exports);
void InitFdWatch(Napi::Env env, Napi::Object exports);
void InitNetlink(Napi::Env env, Napi::Object exports);
void InitUnixSocket(Napi::Env env, Napi::Object exports);
void InitLayerOps(Napi::Env env, Napi::Object exports);
void InitCgroupEvent(Napi::Env env, Napi::Object exports);
void InitBpfDevices(Napi::Env env, Napi::Object exports);
void InitPtyOps(Napi::Env env, Napi::Object exports);
void InitInRoot(Napi::Env env, Napi::Object exports);
