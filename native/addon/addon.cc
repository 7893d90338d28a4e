// The Node front end of the core: request(line) runs one protocol request on
// a libuv worker thread and resolves with the response line, exactly what the
// agent would print. The local runner uses it where /dev/dma_heap is on the
// machine running Node, so both transports share one protocol and one core.
#include <napi.h>

#include <cstdlib>
#include <string>

extern "C" {
#include "../core/dmaheap.h"
}

namespace {

class RequestWorker : public Napi::AsyncWorker {
 public:
  RequestWorker(Napi::Env env, std::string line)
      : Napi::AsyncWorker(env), line_(std::move(line)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    char* out = dmaheap_dispatch(line_.data(), line_.size());
    response_.assign(out ? out : DMAHEAP_OOM_REPLY);  // NULL: not even the ENOMEM reply fit
    std::free(out);
  }

  void OnOK() override { deferred_.Resolve(Napi::String::New(Env(), response_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string line_;
  std::string response_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Request(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "request(line: string)");
  }
  auto* worker = new RequestWorker(env, info[0].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("request", Napi::Function::New(env, Request));
  exports.Set("protocol", Napi::Number::New(env, DMAHEAP_PROTOCOL_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(dmaheap_core, Init)
