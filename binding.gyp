{
  "targets": [
    {
      "target_name": "dmaheap_core",
      "sources": [
        "native/addon/addon.cc",
        "native/core/buffer.c",
        "native/core/dispatch.c",
        "native/core/fault_guard.c",
        "native/core/flags.c",
        "native/core/json.c",
        "native/core/ops_bench.c",
        "native/core/ops_buffer.c",
        "native/core/ops_fault.c",
        "native/core/ops_layout.c",
        "native/core/ops_loops.c",
        "native/core/ops_vgem.c",
        "native/core/ops_yardstick.c",
        "native/core/ops_exec.c",
        "native/core/pattern.c",
        "native/core/reference_heap.c",
        "native/core/request.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GNU_SOURCE"
      ],
      "cflags": [
        "-Wall",
        "-Wno-unused-parameter"
      ],
      "cflags_c": [
        "-std=gnu11"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions"
      ]
    }
  ]
}
